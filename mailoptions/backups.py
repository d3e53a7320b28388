"""Backups of a deactivated user's mail (MAIL-2, MAIL-4): the rules that allow one, the
service an administrator calls, and the worker's run. A run copies the mailbox's
record-linked messages into the organisation's storage (ArchivedMessage, once per message)
in batches, with its progress saved; run again, it adds nothing twice."""

from celery import shared_task
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused
from crm_portal.tenancy import TenantTask
from users.audit import audit_log_write
from users.models import AuditLogEntry, CrmUser
from users.permissions import require_same_org

from .models import ArchivedMessage, MailBackup, Mailbox, Message, MessageAccount, MessageContact

BATCH = 500


def backup_refusal(*, mailbox: Mailbox, actor: CrmUser) -> str | None:
    """Why `actor` may not back up this mailbox now, or None (MAIL-2, MAIL-4)."""
    owner = mailbox.owner
    if not (actor.is_admin and actor.status == CrmUser.Status.ACTIVE):
        return _("Only an administrator can back up a user's mail.")
    if owner.status != CrmUser.Status.DEACTIVATED:
        return _("Only a deactivated user's mail can be backed up.")
    if mailbox.sharing == Mailbox.Sharing.DONT_SHARE:
        return _(
            "The user switched their sharing to “Don't share”: nothing of their mail can be "
            "backed up."
        )
    if mailbox.domain != actor.email.rsplit("@", 1)[-1].lower():
        return _("Only an administrator of the mailbox's domain (%(domain)s) can back it up.") % {
            "domain": mailbox.domain
        }
    reactivated = _last_reactivation(owner)
    if reactivated and (
        mailbox.settings_saved_at is None or mailbox.settings_saved_at < reactivated
    ):
        return _(
            "The account was re-activated and the user has not saved their mail settings "
            "since: the latest backup can't be taken."
        )
    return None


def _last_reactivation(owner: CrmUser):
    entry = (
        AuditLogEntry.objects.filter(org_id=owner.org_id, target=owner, action="user.activated")
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return entry


def mailbox_backup_start(*, mailbox: Mailbox, actor: CrmUser) -> MailBackup:
    """An administrator starts a backup; it runs in a worker once committed."""
    require_same_org(actor.org, mailbox)
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().select_related("owner").get(pk=mailbox.pk)
        refusal = backup_refusal(mailbox=mailbox, actor=actor)
        if refusal:
            raise ActionRefused(refusal)
        try:
            with transaction.atomic():
                backup = MailBackup.objects.create(org=actor.org, mailbox=mailbox, started_by=actor)
        except IntegrityError as error:
            raise ActionRefused(_("A backup of this mailbox is already running.")) from error
        audit_log_write(
            org=actor.org,
            actor=actor,
            action="mail.backup_started",
            target=mailbox.owner,
            details={"mailbox": str(mailbox)},
        )
        transaction.on_commit(lambda: mailbox_backup_task.delay(backup.org_id, backup.pk))
    return backup


def linked_messages(mailbox: Mailbox):
    """The mailbox's messages linked to at least one record."""
    return (
        Message.objects.filter(org_id=mailbox.org_id, copies__mailbox=mailbox)
        .filter(
            Exists(MessageContact.objects.filter(message=OuterRef("pk")))
            | Exists(MessageAccount.objects.filter(message=OuterRef("pk")))
        )
        .distinct()
    )


def mailbox_backup_run(*, backup: MailBackup) -> MailBackup:
    ids = list(linked_messages(backup.mailbox).order_by("pk").values_list("pk", flat=True))
    MailBackup.objects.filter(pk=backup.pk).update(total=len(ids), done=0)
    try:
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            with transaction.atomic():
                ArchivedMessage.objects.bulk_create(
                    [
                        ArchivedMessage(org_id=backup.org_id, message_id=m, backup=backup)
                        for m in batch
                    ],
                    ignore_conflicts=True,
                )
                MailBackup.objects.filter(pk=backup.pk).update(done=start + len(batch))
    except Exception as error:  # noqa: BLE001 - recorded as the backup's reason, shown to admins
        return _finish(backup, MailBackup.Status.FAILED, f"{type(error).__name__}: {error}"[:500])
    return _finish(backup, MailBackup.Status.COMPLETED, "")


def _finish(backup: MailBackup, status: str, reason: str) -> MailBackup:
    MailBackup.objects.filter(pk=backup.pk).update(
        status=status, reason=reason, finished_at=timezone.now()
    )
    backup.refresh_from_db()
    audit_log_write(
        org=backup.mailbox.org,
        actor=None,
        action="mail.backup_completed"
        if status == MailBackup.Status.COMPLETED
        else "mail.backup_failed",
        target=backup.mailbox.owner,
        details={"mailbox": str(backup.mailbox), "messages": backup.done, "reason": reason},
    )
    return backup


@shared_task(base=TenantTask, acks_late=True, name="mailoptions.tasks.mailbox_backup_task")
def mailbox_backup_task(org_id: int, backup_id: int) -> str:
    backup = (
        MailBackup.objects.filter(pk=backup_id, status=MailBackup.Status.IN_PROGRESS)
        .select_related("mailbox__owner", "mailbox__org")
        .first()
    )
    if backup is None:
        return "gone"
    return mailbox_backup_run(backup=backup).status
