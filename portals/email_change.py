"""Changing a portal user's email address (POR-5), the way Zoho documents it.

An admin asks for the change from the portal's Users tab:
- an active user gets a confirmation email at the NEW address (the portal's "Confirm email
  address" template, POR-6) with a single-use link valid 7 days, and a notice at the OLD
  address. They are Login pending and keep signing in with the old address and password
  until they follow the link; then the account's address and the portal user's change
  together and they sign in with the new one;
- one who never accepted gets a fresh invitation at the new address (the old link dies);
- a disabled user's change is recorded and the confirmation goes out when they are enabled.

Only the hash of a link's token is stored (EmailChange). An unknown, expired, used or
replaced link all look the same. Locks: the portal user's row first, then the change row.
"""

import hashlib
import hmac
import re
import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from crm_portal.exceptions import ActionRefused
from crm_portal.mail import mail_enqueue
from invitations.models import INVITATION_VALIDITY
from invitations.services import invitation_for, invitation_send, membership_lock
from users import permissions
from users.audit import audit_log_write
from users.models import CrmUser
from users.permissions import require_permission, require_same_org

from .default_emails import CONFIRM_EMAIL
from .emails import render_for_invitation
from .invitations import KIND
from .models import EmailChange, Portal, PortalUser

MAX_EMAIL_LENGTH = 254
NOTICE = "portals/email/email_change_notice"  # the built-in notice to the old address
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# What portal_user_email_change did, for the page's message.
UNCHANGED, CONFIRMATION_SENT, REINVITED, RECORDED = "unchanged", "sent", "reinvited", "recorded"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def address_unusable() -> ActionRefused:
    """The same words whoever holds the address: the page names nobody."""
    return ActionRefused(_("This address can't be used. Choose another one."))


def email_clean(value: str) -> str:
    """A single, valid address, or ValidationError (no line breaks or control characters:
    nothing an attacker can turn into another header)."""
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("Enter the new email address."))
    if len(value) > MAX_EMAIL_LENGTH or CONTROL.search(value):
        raise ValidationError(_("Enter a valid email address."))
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(_("Enter a valid email address.")) from None
    return value


def _taken(portal_user: PortalUser, email: str) -> bool:
    """Whether another account, or another user of this portal, has (or waits for) `email`."""
    with scopes_disabled():
        accounts = EmailAddress.objects.filter(email__iexact=email)
        if portal_user.user_id:
            accounts = accounts.exclude(user_id=portal_user.user_id)
        if accounts.exists():
            return True
        users = get_user_model().objects.filter(email__iexact=email)
        if portal_user.user_id:
            users = users.exclude(pk=portal_user.user_id)
        if users.exists():
            return True
        return (
            PortalUser.objects.filter(portal_id=portal_user.portal_id)
            .filter(Q(email__iexact=email) | Q(pending_email__iexact=email))
            .exclude(pk=portal_user.pk)
            .exists()
        )


def _audit(portal_user, action, old, new, actor=None, ip=None):
    audit_log_write(
        org=portal_user.org,
        actor=actor,
        action=action,
        ip=ip,
        details={"email": old, "new_email": new, "portal": portal_user.portal.name},
    )


def confirm_url(portal: Portal, token: str) -> str:
    path = reverse("portal_email_confirm", kwargs={"portal_slug": portal.slug, "token": token})
    return f"{settings.SITE_URL}{path}"


def masked(email: str) -> str:
    """n***@example.com: the notice says where, without handing the address to the old box."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _send_confirmation(portal_user: PortalUser) -> None:
    """A new single-use link to the pending address (older links die), and the notice to
    the current one. Called with the portal user's row locked."""
    EmailChange.objects.filter(portal_user=portal_user, used_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    change = EmailChange.objects.create(
        org=portal_user.org,
        portal_user=portal_user,
        new_email=portal_user.pending_email,
        token_hash=token_hash(token),
        expires_at=now + INVITATION_VALIDITY,
    )
    portal = portal_user.portal
    context = {
        "org_name": portal_user.org.name,
        "link": confirm_url(portal, token),
        "expires_at": change.expires_at,
        "contact": portal_user.contact,
    }
    with translation.override(portal_user.language):
        rendered = render_for_invitation(
            portal, CONFIRM_EMAIL, portal_user.language, portal_user.group, context
        )
        subject, text, html = rendered
        message = EmailMultiAlternatives(
            " ".join(subject.split()),
            text,
            from_email=getattr(rendered, "from_email", None) or None,
            to=[change.new_email],
            reply_to=getattr(rendered, "reply_to", None) or None,
        )
        message.attach_alternative(html, "text/html")
        mail_enqueue(message)
        notice = {
            "portal_name": portal.name,
            "org_name": portal_user.org.name,
            "new_email": masked(change.new_email),
            "contact_name": str(portal_user.contact),
        }
        notice_message = EmailMultiAlternatives(
            " ".join(render_to_string(f"{NOTICE}.subject.txt", notice).split()),
            render_to_string(f"{NOTICE}.txt", notice),
            to=[portal_user.email],
        )
        notice_message.attach_alternative(render_to_string(f"{NOTICE}.html", notice), "text/html")
        mail_enqueue(notice_message)


def _reinvite_at(portal_user: PortalUser, email: str, actor) -> None:
    """Who never accepted: the address changes at once and a fresh invitation goes there
    (the core draws a new token: the old link dies)."""
    portal_user.email = email
    portal_user.pending_email = ""
    portal_user.save(update_fields=["email", "pending_email", "updated_at"])
    invitation = invitation_for(kind=KIND, membership=portal_user, actor=actor)
    invitation_send(invitation=invitation, actor=actor)


@transaction.atomic
def portal_user_email_change(
    *, actor: CrmUser, portal: Portal, portal_user: PortalUser, email: str, ip=None
) -> str:
    """POR-5: ask for `portal_user`'s address to become `email`. Returns UNCHANGED,
    CONFIRMATION_SENT, REINVITED or RECORDED (disabled: sent when enabled again)."""
    require_permission(actor, permissions.MANAGE_PORTAL_USERS)
    require_same_org(actor.org, portal, portal_user)
    if portal_user.portal_id != portal.pk:
        raise ActionRefused(_("Choose users of this portal only."))
    try:
        email = email_clean(email)
    except ValidationError as error:
        raise ActionRefused(error.messages[0]) from None
    portal_user = membership_lock(portal_user)
    if email.lower() == portal_user.email.lower():
        if portal_user.pending_email:
            # Back to the current address: the waiting change is dropped.
            EmailChange.objects.filter(portal_user=portal_user, used_at__isnull=True).delete()
            portal_user.pending_email = ""
            if portal_user.status == PortalUser.Status.LOGIN_PENDING and portal_user.user_id:
                portal_user.status = PortalUser.Status.ACTIVE
            portal_user.save(update_fields=["pending_email", "status", "updated_at"])
        return UNCHANGED
    if _taken(portal_user, email):
        raise address_unusable()
    old = portal_user.email
    _audit(portal_user, "portal_user.email_change_requested", old, email, actor, ip)
    if portal_user.status == PortalUser.Status.DISABLED:
        portal_user.pending_email = email
        portal_user.save(update_fields=["pending_email", "updated_at"])
        EmailChange.objects.filter(portal_user=portal_user, used_at__isnull=True).delete()
        return RECORDED
    if portal_user.user_id is None:
        _reinvite_at(portal_user, email, actor)
        return REINVITED
    portal_user.pending_email = email
    portal_user.status = PortalUser.Status.LOGIN_PENDING
    portal_user.save(update_fields=["pending_email", "status", "updated_at"])
    _send_confirmation(portal_user)
    return CONFIRMATION_SENT


def email_change_after_enable(portal_user: PortalUser, actor) -> None:
    """The hook of portals.members' enable (a change recorded while disabled goes out now)
    and re-invite (the confirmation goes again, with a new link). The caller locked the
    portal user's row."""
    if not portal_user.pending_email:
        return
    if portal_user.user_id is None:
        _reinvite_at(portal_user, portal_user.pending_email, actor)
        return
    _send_confirmation(portal_user)


# --- the link ---------------------------------------------------------------------------------


def email_change_lookup(portal: Portal, token: str) -> EmailChange | None:
    """The open change of this portal whose link this is; None for anything else."""
    if not token or len(token) > 100:
        return None
    digest = token_hash(token)
    with scopes_disabled():
        change = (
            EmailChange.objects.select_related("portal_user")
            .filter(token_hash=digest, portal_user__portal=portal)
            .first()
        )
    if change is None or not hmac.compare_digest(change.token_hash, digest):
        return None
    if not _is_open(change, change.portal_user):
        return None
    return change


def _is_open(change: EmailChange, portal_user: PortalUser) -> bool:
    return (
        change.used_at is None
        and change.expires_at > timezone.now()
        and portal_user.user_id is not None
        and portal_user.status == PortalUser.Status.LOGIN_PENDING
        and portal_user.pending_email.lower() == change.new_email.lower()
    )


def refuse_invalid_link():
    raise ActionRefused(
        _(
            "This link is not valid. It may have expired, been used already, or been "
            "replaced by a newer one."
        )
    )


def _follow_in_other_portals(account, old: str, new: str, portal_user: PortalUser) -> None:
    """The same account in other portals signs in with its new address too: their portal
    users show it, where that portal has no other user with it."""
    others = PortalUser.objects.filter(user=account, email__iexact=old).exclude(pk=portal_user.pk)
    for other in others.select_for_update():
        clash = (
            PortalUser.objects.filter(portal_id=other.portal_id, email__iexact=new)
            .exclude(pk=other.pk)
            .exists()
        )
        if not clash:
            other.email = new
            other.save(update_fields=["email", "updated_at"])


def email_change_confirm(*, portal: Portal, token: str, user) -> PortalUser:
    """Follow the link: the account's address (allauth's primary, verified EmailAddress and
    User.email) and the portal user's change together; the person is Active again. Refused
    when someone else is signed in, or when the address was taken meanwhile."""
    digest = token_hash(token or "") if token and len(token) <= 100 else ""
    with transaction.atomic(), scopes_disabled():
        found = EmailChange.objects.filter(token_hash=digest, portal_user__portal=portal).first()
        if not digest or found is None:
            refuse_invalid_link()
        portal_user = membership_lock(found.portal_user)
        change = (
            EmailChange.objects.select_for_update().filter(pk=found.pk, token_hash=digest).first()
        )
        if change is None or not _is_open(change, portal_user):
            refuse_invalid_link()
        if user is not None and user.is_authenticated and user.pk != portal_user.user_id:
            raise ActionRefused(
                _("You are signed in with another account. Sign out, then follow the link again.")
            )
        if _taken(portal_user, change.new_email):
            raise address_unusable()
        account = get_user_model().objects.select_for_update().get(pk=portal_user.user_id)
        old = portal_user.email
        EmailAddress.objects.filter(user=account, email__iexact=old).delete()
        EmailAddress.objects.filter(user=account).update(primary=False)
        EmailAddress.objects.create(
            user=account, email=change.new_email, primary=True, verified=True
        )
        account.email = change.new_email
        account.save(update_fields=["email"])
        _follow_in_other_portals(account, old, change.new_email, portal_user)
        portal_user.email = change.new_email
        portal_user.pending_email = ""
        portal_user.status = PortalUser.Status.ACTIVE
        portal_user.save(update_fields=["email", "pending_email", "status", "updated_at"])
        change.used_at = timezone.now()
        change.save(update_fields=["used_at"])
        _audit(portal_user, "portal_user.email_changed", old, change.new_email)
    return portal_user
