"""IMAP sync (MAIL-5): per folder a cursor {UIDVALIDITY, last UID, HIGHESTMODSEQ}; new UIDs
are fetched and stored in batches, each batch in one transaction that also moves the cursor,
so a sync cut short resumes where it stopped and never stores a UID twice. A UIDVALIDITY change
drops the folder's UIDs and fetches it again; messages are shared by Message-ID, so nothing is
duplicated. The result (or the reason of a failure) is recorded on the mailbox."""

import imaplib
import ssl
import uuid
from collections import defaultdict
from collections.abc import Iterable

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from crm_portal.tenancy import TenantTask
from records.models import Contact
from users.models import CrmUser

from .hosts import host_allowed
from .models import (
    Folder,
    Mailbox,
    Message,
    MessageAccount,
    MessageAttachment,
    MessageContact,
    MessageCopy,
)
from .parsing import ParsedAttachment, ParsedMessage, message_parse
from .secrets import MailSecretKeyMissing, MailSecretUnreadable, secret_decrypt

FAILURE_REASONS = {
    "secret_key_missing": _(
        "Mailbox passwords cannot be read: the server has no mail secret key (MAIL_SECRET_KEY)."
    ),
    "secret_unreadable": _("The stored password can no longer be read; enter it again."),
    "private_host": _("This mail server is on a private network and may not be reached."),
    "unreachable": _("The mail server could not be reached."),
    "tls_failed": _("The secure connection (TLS) to the mail server failed."),
    "login_failed": _("The mail server refused the login or the password."),
    "connection_lost": _(
        "The connection to the mail server was lost; the next sync resumes where this one stopped."
    ),
    "server_error": _("The mail server answered with an error."),
}
SKIPPED_FOLDER_FLAGS = {b"\\Noselect", b"\\NonExistent", b"\\Junk", b"\\Trash"}
LOCK_SECONDS = 60 * 60


class SyncFailed(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = str(detail)[:500]


def mailbox_sync(*, mailbox: Mailbox) -> int:
    """Sync one mailbox and record the result; the number of new messages (0 when a sync of
    the same mailbox is already running)."""
    lock = f"mailbox-sync:{mailbox.pk}"
    if not cache.add(lock, 1, timeout=LOCK_SECONDS):
        return 0
    try:
        count = _sync(mailbox)
    except SyncFailed as failure:
        _record(mailbox, Mailbox.SyncResult.FAILED, failure.reason, failure.detail, 0)
        return 0
    finally:
        cache.delete(lock)
    _record(mailbox, Mailbox.SyncResult.OK, "", "", count)
    return count


def _record(mailbox, result, reason, detail, count) -> None:
    values = {
        "last_sync_at": timezone.now(),
        "last_sync_result": result,
        "last_sync_error": reason,
        "last_sync_detail": detail,
        "last_sync_new": count,
    }
    Mailbox.objects.filter(pk=mailbox.pk).update(**values)
    for name, value in values.items():
        setattr(mailbox, name, value)


def imap_connect(mailbox: Mailbox) -> IMAPClient:
    """A logged-in client, or SyncFailed with the reason."""
    try:
        secret = secret_decrypt(mailbox.secret_encrypted)
    except MailSecretKeyMissing as error:
        raise SyncFailed("secret_key_missing") from error
    except MailSecretUnreadable as error:
        raise SyncFailed("secret_unreadable") from error
    if not host_allowed(mailbox.host, mailbox.port):
        raise SyncFailed("private_host", mailbox.host)
    context = ssl.create_default_context()
    try:
        client = IMAPClient(
            mailbox.host,
            port=mailbox.port,
            ssl=mailbox.security == Mailbox.Security.TLS,
            ssl_context=context,
            timeout=settings.MAIL_IMAP_TIMEOUT_SECONDS,
        )
        if mailbox.security == Mailbox.Security.STARTTLS:
            client.starttls(context)
        client.login(mailbox.login, secret)
    except ssl.SSLError as error:
        raise SyncFailed("tls_failed", error) from error
    except LoginError as error:
        raise SyncFailed("login_failed", _server_words(error)) from error
    except (OSError, imaplib.IMAP4.abort) as error:
        raise SyncFailed("unreachable", error) from error
    except IMAPClientError as error:
        raise SyncFailed("server_error", _server_words(error)) from error
    return client


def _server_words(error) -> str:
    text = str(error)
    return text[2:-1] if text.startswith(("b'", 'b"')) else text


def _sync(mailbox: Mailbox) -> int:
    client = imap_connect(mailbox)
    try:
        if b"CONDSTORE" in client.capabilities():
            client.enable("CONDSTORE")
        folders = {folder.name: folder for folder in mailbox.folders.all()}
        return sum(
            _sync_folder(client, mailbox, folders.get(name) or _new_folder(mailbox, name))
            for name in _selectable_folders(client)
        )
    except (OSError, imaplib.IMAP4.abort) as error:
        raise SyncFailed("connection_lost", error) from error
    except IMAPClientError as error:
        raise SyncFailed("server_error", _server_words(error)) from error
    finally:
        _logout(client)


def _logout(client) -> None:
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error, IMAPClientError):
        pass  # the connection is gone already; nothing is left to close


def _new_folder(mailbox, name) -> Folder:
    return Folder.objects.create(org_id=mailbox.org_id, mailbox=mailbox, name=name)


def _selectable_folders(client) -> list[str]:
    return [
        name
        for flags, _delimiter, name in client.list_folders()
        if not SKIPPED_FOLDER_FLAGS.intersection(flags)
    ]


def _sync_folder(client, mailbox: Mailbox, folder: Folder) -> int:
    info = client.select_folder(folder.name, readonly=True)
    uidvalidity = info[b"UIDVALIDITY"]
    if folder.uidvalidity != uidvalidity:
        _restart_folder(folder, uidvalidity)
    modseq, uidnext = info.get(b"HIGHESTMODSEQ"), info.get(b"UIDNEXT")
    if uidnext is not None and uidnext <= folder.last_uid + 1:
        if modseq != folder.highestmodseq:
            Folder.objects.filter(pk=folder.pk).update(highestmodseq=modseq)
            folder.highestmodseq = modseq
        return 0
    # IMAPClient's fetch takes UIDs, not ranges: the new ones come from a search.
    uids = sorted(
        uid for uid in client.search(["UID", f"{folder.last_uid + 1}:*"]) if uid > folder.last_uid
    )
    batch_size = settings.MAIL_SYNC_BATCH_SIZE
    for start in range(0, len(uids), batch_size):
        batch = uids[start : start + batch_size]
        _store_batch(mailbox, folder, _fetch_batch(client, batch), last_uid=batch[-1])
    Folder.objects.filter(pk=folder.pk).update(highestmodseq=modseq)
    folder.highestmodseq = modseq
    return len(uids)


def _restart_folder(folder: Folder, uidvalidity: int) -> None:
    """The server renumbered the folder: its UIDs mean nothing any more (RFC 3501 2.3.1.1)."""
    with transaction.atomic():
        if folder.uidvalidity is not None:
            folder.copies.all().delete()
        folder.uidvalidity, folder.last_uid, folder.highestmodseq = uidvalidity, 0, None
        folder.save(update_fields=["uidvalidity", "last_uid", "highestmodseq"])


def _fetch_batch(client, batch: list[int]) -> list[tuple[int, int, bool, bytes]]:
    """(uid, size, headers only, raw bytes) of each UID still there; over the size cap, only
    the headers are fetched."""
    cap = settings.MAIL_MAX_MESSAGE_BYTES
    sizes = {
        uid: data.get(b"RFC822.SIZE", 0)
        for uid, data in client.fetch(batch, ["RFC822.SIZE"]).items()
    }
    batch = [uid for uid in batch if uid in sizes]
    small = [uid for uid in batch if sizes[uid] <= cap]
    large = [uid for uid in batch if sizes[uid] > cap]
    rows = []
    if small:
        for uid, data in client.fetch(small, ["BODY.PEEK[]"]).items():
            rows.append((uid, sizes.get(uid, 0), False, data.get(b"BODY[]") or b""))
    if large:
        for uid, data in client.fetch(large, ["BODY.PEEK[HEADER]"]).items():
            rows.append((uid, sizes.get(uid, 0), True, data.get(b"BODY[HEADER]") or b""))
    return [row for row in rows if row[0] in sizes]


def _store_batch(mailbox, folder, rows, *, last_uid: int) -> None:
    """One transaction: the messages (once per org), their copies (once per folder and UID),
    their links to records, and the folder's cursor."""
    parsed = [
        (uid, size, headers_only, message_parse(raw, headers_only=headers_only))
        for uid, size, headers_only, raw in rows
    ]
    org_id = mailbox.org_id
    with transaction.atomic():
        unique = {
            p.key: _message(org_id, p, size, headers_only) for _u, size, headers_only, p in parsed
        }
        Message.objects.bulk_create(unique.values(), ignore_conflicts=True)
        ids = dict(Message.objects.filter(org_id=org_id, key__in=unique).values_list("key", "id"))
        MessageCopy.objects.bulk_create(
            [
                MessageCopy(
                    org_id=org_id, mailbox=mailbox, folder=folder, uid=uid, message_id=ids[p.key]
                )
                for uid, _s, _h, p in parsed
            ],
            ignore_conflicts=True,
        )
        message_link(org_id, {ids[p.key]: p for _u, _s, _h, p in parsed})
        attachments_store(org_id, {ids[p.key]: p.attachments for _u, _s, _h, p in parsed})
        Folder.objects.filter(pk=folder.pk).update(last_uid=last_uid)
    folder.last_uid = last_uid


def _message(org_id, p: ParsedMessage, size: int, headers_only: bool) -> Message:
    return Message(
        org_id=org_id,
        key=p.key,
        message_id=p.message_id,
        subject=p.subject,
        from_address=p.from_address,
        from_name=p.from_name,
        to=p.to,
        cc=p.cc,
        sent_at=p.sent_at,
        body_text=p.body_text,
        body_html=p.body_html,
        size=size,
        headers_only=headers_only,
        note=Message.Note.TOO_LARGE if headers_only else Message.Note.NONE,
        defects=p.defects,
    )


def attachments_store(org_id: int, attachments: dict[int, list[ParsedAttachment]]) -> None:
    """Keep the attachment parts of messages (by id) that have none stored yet: a message
    seen again (in a second mailbox, after a UIDVALIDITY change) adds nothing twice. The
    bytes go to the default storage under a random name in the org's folder."""
    wanted = {pk: parts for pk, parts in attachments.items() if parts}
    if not wanted:
        return
    # Two mailboxes syncing the same new message at once: the second waits here for the
    # first's transaction, then finds its attachments stored (no orphan files either).
    list(Message.objects.filter(pk__in=wanted).order_by("pk").select_for_update().values("pk"))
    stored = set(
        MessageAttachment.objects.filter(message_id__in=wanted)
        .values_list("message_id", flat=True)
        .distinct()
    )
    rows = []
    for message_pk, parts in wanted.items():
        if message_pk in stored:
            continue
        for position, part in enumerate(parts):
            row = MessageAttachment(
                org_id=org_id,
                message_id=message_pk,
                position=position,
                original_name=part.filename,
                size=len(part.data),
                content_type=part.content_type,
            )
            row.file.save(uuid.uuid4().hex, ContentFile(part.data), save=False)
            rows.append(row)
    MessageAttachment.objects.bulk_create(rows, ignore_conflicts=True)


def message_link(org_id: int, messages: dict[int, ParsedMessage]) -> None:
    """Link messages (by id) to the contacts whose address appears in their From, To or Cc,
    and to those contacts' accounts; addresses compare case-insensitively. Two statements
    to read, two to write, however many messages."""
    wanted = set().union(*(p.addresses for p in messages.values())) if messages else set()
    if not wanted:
        return
    by_address = defaultdict(list)
    for row in _contacts_with_addresses(org_id, wanted):
        contact_id, account_id, first, second = row
        for address in {first, second} & wanted:
            by_address[address].append((contact_id, account_id))
    contact_links, account_links = set(), set()
    for message_id, parsed in messages.items():
        for address in parsed.addresses:
            for contact_id, account_id in by_address.get(address, ()):
                contact_links.add((message_id, contact_id))
                if account_id:
                    account_links.add((message_id, account_id))
    _bulk_links(org_id, contact_links, account_links)


def _contacts_with_addresses(org_id: int, wanted: Iterable[str]):
    wanted = list(wanted)
    return (
        Contact.objects.filter(org_id=org_id)
        .annotate(first=Lower("email"), second=Lower("secondary_email"))
        .filter(Q(first__in=wanted) | Q(second__in=wanted))
        .values_list("id", "account_id", "first", "second")
    )


def _bulk_links(org_id, contact_links, account_links) -> None:
    MessageContact.objects.bulk_create(
        [MessageContact(org_id=org_id, message_id=m, contact_id=c) for m, c in contact_links],
        ignore_conflicts=True,
    )
    MessageAccount.objects.bulk_create(
        [MessageAccount(org_id=org_id, message_id=m, account_id=a) for m, a in account_links],
        ignore_conflicts=True,
    )


@shared_task(base=TenantTask, acks_late=True, name="mailoptions.tasks.mailbox_sync_task")
def mailbox_sync_task(org_id: int, mailbox_id: int) -> int:
    mailbox = Mailbox.objects.filter(pk=mailbox_id).select_related("owner").first()
    if mailbox is None:
        return 0
    return mailbox_sync(mailbox=mailbox)


@shared_task(name="mailoptions.tasks.mailboxes_sync_all_task")
def mailboxes_sync_all_task() -> int:
    """The beat's periodic sync: one task per mailbox of an active user."""
    with scopes_disabled():
        rows = list(
            Mailbox.objects.filter(owner__status=CrmUser.Status.ACTIVE).values_list("org_id", "pk")
        )
    for org_id, mailbox_id in rows:
        mailbox_sync_task.delay(org_id, mailbox_id)
    return len(rows)
