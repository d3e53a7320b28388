"""Writes of the mail add-on: connecting a mailbox and choosing its sharing (MAIL-5), locking
and unlocking a user's mail settings (MAIL-3). Each validates first, writes in one transaction,
audits (MAIL-6) and enqueues work on commit."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused
from users.audit import audit_log_write
from users.models import CrmUser, Profile
from users.permissions import require_same_org

from .hosts import host_allowed
from .models import Mailbox
from .secrets import MailSecretKeyMissing, secret_encrypt
from .sync import mailbox_sync_task

CONNECTION_FIELDS = ("host", "port", "security", "login")


def mailbox_connect(
    *,
    membership: CrmUser,
    actor: CrmUser,
    host: str,
    port: int,
    security: str,
    login: str,
    secret: str | None,
    sharing: str,
) -> Mailbox:
    """A user connects (or changes) their own mailbox and its sharing. `secret` None or empty
    keeps the stored one. A sync is enqueued once the change is committed."""
    if actor.pk != membership.pk or actor.status != CrmUser.Status.ACTIVE:
        raise PermissionDenied
    require_same_org(actor.org, membership)
    _validate_connection(host=host, port=port, security=security, sharing=sharing)
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().filter(owner=membership).first()
        if mailbox is not None and mailbox.locked:
            raise ActionRefused(_("Your mail settings are locked by an administrator."))
        if mailbox is None and not secret:
            raise ActionRefused(_("Enter the password or app password."), field="secret")
        mailbox, old_sharing = _save_mailbox(
            mailbox, membership, host.strip(), port, security, login.strip(), secret, sharing
        )
        if old_sharing != sharing:
            audit_log_write(
                org=membership.org,
                actor=actor,
                action="mail.sharing_changed",
                target=membership,
                details={"old": old_sharing, "new": sharing},
            )
        transaction.on_commit(lambda: mailbox_sync_task.delay(mailbox.org_id, mailbox.pk))
    return mailbox


def _validate_connection(*, host, port, security, sharing) -> None:
    if not host or not host.strip() or len(host) > 253 or any(c.isspace() for c in host.strip()):
        raise ActionRefused(_("Enter the IMAP server's name."), field="host")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ActionRefused(_("Enter a port between 1 and 65535."), field="port")
    if security not in Mailbox.Security.values:
        raise ActionRefused(_("Choose how the connection is secured."), field="security")
    if sharing not in Mailbox.Sharing.values:
        raise ActionRefused(_("Choose a sharing setting."), field="sharing")
    if not host_allowed(host.strip(), port):
        raise ActionRefused(
            _("This mail server is on a private network and may not be reached."), field="host"
        )


def _save_mailbox(mailbox, membership, host, port, security, login, secret, sharing):
    try:
        encrypted = secret_encrypt(secret) if secret else None
    except MailSecretKeyMissing as error:
        raise ActionRefused(
            _("Mailboxes cannot be connected: the server has no mail secret key.")
        ) from error
    old_sharing = mailbox.sharing if mailbox else None
    if mailbox is None:
        mailbox = Mailbox(org=membership.org, owner=membership)
    mailbox.host, mailbox.port, mailbox.security, mailbox.login = host, port, security, login
    mailbox.sharing = sharing
    if encrypted:
        mailbox.secret_encrypted = encrypted
    mailbox.settings_saved_at = timezone.now()
    mailbox.save()
    return mailbox, old_sharing


def mailbox_sync_request(*, mailbox: Mailbox, actor: CrmUser) -> None:
    """A sync on demand (MAIL-5), by the mailbox's owner, in a worker."""
    if actor.pk != mailbox.owner_id:
        raise PermissionDenied
    transaction.on_commit(lambda: mailbox_sync_task.delay(mailbox.org_id, mailbox.pk))


# --- Lock / unlock (MAIL-3) ---------------------------------------------------------------


def active_admin_count(org) -> int:
    return CrmUser.objects.filter(
        Q(is_super_admin=True) | Q(profile__builtin=Profile.ADMINISTRATOR),
        org=org,
        status=CrmUser.Status.ACTIVE,
    ).count()


def lock_refusal(
    *, mailbox: Mailbox, actor: CrmUser, locking: bool, admin_count: int | None = None
) -> str | None:
    """Why `actor` may not lock (or unlock) this mailbox, or None: the seed's rules. Only an
    administrator; with several administrators, only other users' mailboxes; a sole
    administrator may lock and unlock themself; a *don't share* user can't be locked.
    `admin_count` (the org's active administrators) saves a list page a statement per row."""
    if not (actor.is_admin and actor.status == CrmUser.Status.ACTIVE):
        return _("Only an administrator can lock or unlock mail settings.")
    if locking and mailbox.sharing == Mailbox.Sharing.DONT_SHARE:
        return _("A user whose sharing is “Don't share” can't be locked.")
    if mailbox.owner_id == actor.pk and (admin_count or active_admin_count(actor.org)) > 1:
        if locking:
            return _("With several administrators, you can't lock your own mail settings.")
        return _("With several administrators, you can't unlock your own mail settings.")
    return None


def mailbox_lock(*, mailbox: Mailbox, actor: CrmUser) -> Mailbox:
    return _set_lock(mailbox=mailbox, actor=actor, locked=True)


def mailbox_unlock(*, mailbox: Mailbox, actor: CrmUser) -> Mailbox:
    return _set_lock(mailbox=mailbox, actor=actor, locked=False)


def _set_lock(*, mailbox: Mailbox, actor: CrmUser, locked: bool) -> Mailbox:
    require_same_org(actor.org, mailbox)
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().select_related("owner").get(pk=mailbox.pk)
        refusal = lock_refusal(mailbox=mailbox, actor=actor, locking=locked)
        if refusal:
            raise ActionRefused(refusal)
        if mailbox.locked == locked:
            return mailbox
        mailbox.locked = locked
        mailbox.locked_at = timezone.now() if locked else None
        mailbox.save(update_fields=["locked", "locked_at"])
        audit_log_write(
            org=actor.org,
            actor=actor,
            action="mail.locked" if locked else "mail.unlocked",
            target=mailbox.owner,
            details={"mailbox": str(mailbox)},
        )
    return mailbox
