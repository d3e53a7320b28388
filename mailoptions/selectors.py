"""Reads of the mail add-on, always through the org."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from crm_portal.search import contains_any
from records.selectors import accounts_visible_to, contacts_visible_to
from users.models import CrmUser

from .models import (
    ArchivedMessage,
    MailBackup,
    Mailbox,
    Message,
    MessageAccount,
    MessageAttachment,
    MessageContact,
    MessageCopy,
)

LOCK_FILTERS = {"locked": Q(locked=True), "unlocked": Q(locked=False)}


def mail_users(
    *,
    org,
    status: str = CrmUser.Status.ACTIVE,
    sharing: str = "",
    lock: str = "",
    result: str = "",
    query: str = "",
) -> QuerySet:
    """The add-on's users (MAIL-1): mailboxes of the org's users of one status, with their
    owner, filtered and searched by name, email or login."""
    mailboxes = Mailbox.objects.filter(org=org, owner__status=status).select_related("owner")
    if sharing:
        mailboxes = mailboxes.filter(sharing=sharing)
    if lock in LOCK_FILTERS:
        mailboxes = mailboxes.filter(LOCK_FILTERS[lock])
    if result:
        mailboxes = mailboxes.filter(last_sync_result=result)
    if query:
        mailboxes = mailboxes.filter(
            contains_any(["owner__first_name", "owner__last_name", "owner__email", "login"], query)
        )
    return mailboxes.order_by("owner__last_name", "owner__first_name", "pk")


def mail_user_counts(*, org) -> dict[str, int]:
    """How many mailboxes the org's active and deactivated users have, for the tabs."""
    rows = (
        Mailbox.objects.filter(org=org)
        .values_list("owner__status")
        .annotate(n=Count("pk"))
        .values_list("owner__status", "n")
    )
    return dict(rows)


def message_counts(*, mailboxes) -> dict[int, int]:
    """Messages each mailbox holds (MAIL-1's deactivated users), in one statement."""
    return dict(
        Mailbox.objects.filter(pk__in=[m.pk for m in mailboxes])
        .annotate(n=Count("copies__message", distinct=True))
        .values_list("pk", "n")
    )


RECORD_LINKS = {"contacts": "messagecontact__contact", "accounts": "messageaccount__account"}
SHARED = [Mailbox.Sharing.SHARE_ALL, Mailbox.Sharing.RECORD_LEVEL]


def record_messages(*, org, module: str, record, viewer: CrmUser, limit: int = 20) -> list:
    """The messages linked to a record the viewer already sees (point 2): their own, and
    those of active users who share all or share at record level."""
    copies = MessageCopy.objects.filter(message=OuterRef("pk")).filter(
        Q(mailbox__owner=viewer)
        | Q(mailbox__owner__status=CrmUser.Status.ACTIVE, mailbox__sharing__in=SHARED)
    )
    archived = ArchivedMessage.objects.filter(message=OuterRef("pk"))
    sent = Q(sent_by=viewer) | Q(
        sent_by__status=CrmUser.Status.ACTIVE, sent_by__mailbox__sharing__in=SHARED
    )
    return list(
        Message.objects.filter(org=org, **{RECORD_LINKS[module]: record})
        .filter(Exists(copies) | Exists(archived) | sent)
        .order_by("-sent_at", "-pk")
        .only("pk", "subject", "from_name", "from_address", "sent_at", "headers_only")[:limit]
    )


def message_visible_to(*, org, viewer: CrmUser, pk: int) -> Message | None:
    """One message, if the viewer may read it: in their own mailbox; shared by an active user
    with everyone; or shared at record level and linked to a record the viewer sees (USR-2)."""
    active = Q(mailbox__owner__status=CrmUser.Status.ACTIVE)
    own_or_all = MessageCopy.objects.filter(message=OuterRef("pk")).filter(
        Q(mailbox__owner=viewer) | (active & Q(mailbox__sharing=Mailbox.Sharing.SHARE_ALL))
    )
    record_level = Exists(
        MessageCopy.objects.filter(
            active, message=OuterRef("pk"), mailbox__sharing=Mailbox.Sharing.RECORD_LEVEL
        )
    ) | Exists(ArchivedMessage.objects.filter(message=OuterRef("pk")))  # a backup (MAIL-2)
    seen_contact = MessageContact.objects.filter(
        message=OuterRef("pk"), contact__in=contacts_visible_to(membership=viewer)
    )
    seen_account = MessageAccount.objects.filter(
        message=OuterRef("pk"), account__in=accounts_visible_to(membership=viewer)
    )
    sender_active = Q(sent_by__status=CrmUser.Status.ACTIVE)
    # Sent from the CRM (MAIL-5): as the sender's mailbox is shared; without one, only theirs.
    sent_own_or_all = Q(sent_by=viewer) | (
        sender_active & Q(sent_by__mailbox__sharing=Mailbox.Sharing.SHARE_ALL)
    )
    sent_record_level = sender_active & Q(sent_by__mailbox__sharing=Mailbox.Sharing.RECORD_LEVEL)
    return (
        Message.objects.filter(org=org, pk=pk)
        .filter(
            Exists(own_or_all)
            | sent_own_or_all
            | ((record_level | sent_record_level) & (Exists(seen_contact) | Exists(seen_account)))
        )
        .first()
    )


def message_attachments(*, message: Message) -> list[MessageAttachment]:
    """A message's attachments, in their order in the message (the caller has checked who
    may read it)."""
    return list(
        MessageAttachment.objects.filter(org_id=message.org_id, message=message)
        .order_by("position")
        .only("pk", "message_id", "original_name", "size", "content_type")
    )


def message_attachment_visible_to(
    *, org, viewer: CrmUser, message_pk: int, pk: int
) -> MessageAttachment | None:
    """One attachment, if the viewer may read its message (the message page's own rule)."""
    message = message_visible_to(org=org, viewer=viewer, pk=message_pk)
    if message is None:
        return None
    return MessageAttachment.objects.filter(org=org, message=message, pk=pk).first()


def latest_backups(*, mailboxes) -> dict[int, MailBackup]:
    """Each mailbox's latest backup (MAIL-1's deactivated users), in one statement."""
    latest = {}
    rows = MailBackup.objects.filter(mailbox__in=[m.pk for m in mailboxes]).order_by(
        "mailbox_id", "-started_at", "-pk"
    )
    for backup in rows:
        latest.setdefault(backup.mailbox_id, backup)
    return latest
