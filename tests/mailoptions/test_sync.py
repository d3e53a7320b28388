"""MAIL-5: mailboxes synced over IMAP from a real Dovecot started by the tests, messages linked
to the contacts (and their accounts) whose addresses appear in them."""

from email.message import EmailMessage

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from mailoptions.models import Folder, Mailbox, Message, MessageCopy
from mailoptions.parsing import message_parse
from mailoptions.sync import mailbox_sync, mailbox_sync_task, mailboxes_sync_all_task
from records.models import Account
from tests.mailoptions.conftest import connect, mail
from tests.mailoptions.dovecot import DroppingProxy, free_port
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory
from users.models import CrmUser


def sync(mailbox) -> int:
    with scope(org=mailbox.org):
        return mailbox_sync(mailbox=mailbox)


def copies(mailbox):
    with scopes_disabled():
        return sorted(MessageCopy.objects.filter(mailbox=mailbox).values_list("uid", flat=True))


def messages(org):
    with scopes_disabled():
        return Message.objects.filter(org=org)


def test_mail5_first_sync_stores_messages_and_links_contacts_and_accounts(
    dovecot, imap_account, admin_a, org_a
):
    with scopes_disabled():
        account = Account.objects.create(org=org_a, name="Kaito Trading")
        kaito = ContactFactory(org=org_a, email="Kaito@Example.JP", account=account)
        rin = ContactFactory(org=org_a, email="", secondary_email="rin@example.jp")
        ContactFactory(org=org_a, email="nobody-writes@example.jp")
    dovecot.deliver(
        imap_account[0],
        [
            mail(1, sender="Kaito <KAITO@example.jp>"),
            mail(2, cc=["rin@EXAMPLE.jp"]),
            mail(3, sender="stranger@example.com"),
        ],
    )
    mailbox = connect(admin_a, dovecot, *imap_account)

    assert sync(mailbox) == 3

    mailbox.refresh_from_db()
    assert mailbox.last_sync_result == Mailbox.SyncResult.OK and mailbox.last_sync_new == 3
    assert copies(mailbox) == [1, 2, 3]
    with scopes_disabled():
        folder = Folder.objects.get(mailbox=mailbox, name="INBOX")
        assert folder.uidvalidity and folder.last_uid == 3
        first = Message.objects.get(org=org_a, subject="Message 1")
        assert first.from_address == "kaito@example.jp" and first.from_name == "Kaito"
        assert first.body_text.strip() == "Body of message 1."
        assert list(first.contacts.all()) == [kaito] and list(first.accounts.all()) == [account]
        assert list(Message.objects.get(subject="Message 2").contacts.all()) == [rin]
        assert not Message.objects.get(subject="Message 3").contacts.exists()


def test_mail5_incremental_sync_fetches_only_new_messages_in_constant_statements(
    dovecot, imap_account, admin_a, org_a
):
    dovecot.deliver(imap_account[0], [mail(n) for n in range(1, 4)])
    mailbox = connect(admin_a, dovecot, *imap_account)
    assert sync(mailbox) == 3, mailbox.last_sync_detail
    dovecot.deliver(imap_account[0], [mail(4), mail(5)])

    assert sync(mailbox) == 2
    assert copies(mailbox) == [1, 2, 3, 4, 5]
    assert messages(org_a).count() == 5

    counts = []
    for _round in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert sync(mailbox) == 0
        counts.append(len(queries))
    dovecot.deliver(imap_account[0], [mail(n) for n in range(6, 30)])
    sync(mailbox)
    with CaptureQueriesContext(connection) as queries:
        assert sync(mailbox) == 0
    assert counts[0] == counts[1] == len(queries) <= 3


def test_mail5_uidvalidity_change_resyncs_the_folder_without_duplicates(
    dovecot, imap_account, admin_a, org_a
):
    dovecot.deliver(imap_account[0], [mail(n) for n in range(1, 6)])
    mailbox = connect(admin_a, dovecot, *imap_account)
    sync(mailbox)
    with scopes_disabled():
        before = Folder.objects.get(mailbox=mailbox).uidvalidity
        ids_before = set(messages(org_a).values_list("pk", flat=True))

    dovecot.renumber(imap_account[0])
    assert sync(mailbox) == 5, (mailbox.last_sync_error, mailbox.last_sync_detail)

    with scopes_disabled():
        folder = Folder.objects.get(mailbox=mailbox)
        assert folder.uidvalidity != before and folder.last_uid == 5
        assert set(messages(org_a).values_list("pk", flat=True)) == ids_before
        assert MessageCopy.objects.filter(mailbox=mailbox).count() == 5


def test_mail5_dropped_connection_is_recorded_and_the_next_sync_resumes(
    dovecot, imap_account, admin_a, org_a, settings
):
    settings.MAIL_SYNC_BATCH_SIZE = 10
    dovecot.deliver(imap_account[0], [mail(n, body="x" * 400) for n in range(1, 61)])
    proxy = DroppingProxy(dovecot.port, drop_after=20_000)
    mailbox = connect(admin_a, dovecot, *imap_account, port=proxy.port)

    assert sync(mailbox) == 0
    proxy.close()

    mailbox.refresh_from_db()
    assert proxy.dropped.is_set()
    assert mailbox.last_sync_result == Mailbox.SyncResult.FAILED
    assert mailbox.last_sync_error == "connection_lost"
    stored = copies(mailbox)
    assert 0 < len(stored) < 60
    with scopes_disabled():
        assert Folder.objects.get(mailbox=mailbox).last_uid == max(stored)

    with scopes_disabled():
        Mailbox.objects.filter(pk=mailbox.pk).update(port=dovecot.port)
    mailbox.refresh_from_db()
    assert sync(mailbox) == 60 - len(stored)
    assert copies(mailbox) == list(range(1, 61))
    assert messages(org_a).count() == 60


def test_mail5_same_message_id_in_two_mailboxes_is_one_message(
    dovecot, imap_account, admin_a, member_a, org_a
):
    other_login = imap_account[0] + "b"
    dovecot.add_user(other_login, "other-password")
    shared = mail(1, message_id="<shared@example.net>")
    dovecot.deliver(imap_account[0], [shared, mail(2)])
    dovecot.deliver(other_login, [shared])
    mine = connect(admin_a, dovecot, *imap_account)
    theirs = connect(member_a, dovecot, other_login, "other-password")

    sync(mine)
    sync(theirs)

    with scopes_disabled():
        message = Message.objects.get(org=org_a, message_id="<shared@example.net>")
        assert set(message.copies.values_list("mailbox", flat=True)) == {mine.pk, theirs.pk}
    assert messages(org_a).count() == 2


def test_mail5_broken_mime_is_stored_with_the_defect_and_the_sync_goes_on(
    dovecot, imap_account, admin_a, org_a
):
    broken = (
        b"From: Kaito <kaito@example.jp>\r\nTo: me@alpha.example\r\nSubject: Broken\r\n"
        b"Message-ID: <broken@example.net>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
        b"--never-closed\r\nContent-Type: text/plain; charset=no-such-charset\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29ybGQ!!!\x00\r\n"
    )
    dovecot.deliver(imap_account[0], [broken, mail(2)])
    mailbox = connect(admin_a, dovecot, *imap_account)

    assert sync(mailbox) == 2

    with scopes_disabled():
        stored = Message.objects.get(org=org_a, message_id="<broken@example.net>")
        assert stored.subject == "Broken" and stored.from_address == "kaito@example.jp"
        assert "UnknownCharset" in stored.defects
        assert "StartBoundaryNotFoundDefect" in stored.defects or stored.defects
        assert "\x00" not in stored.body_text
        assert Message.objects.filter(org=org_a, subject="Message 2").exists()


def test_mail5_a_30_mb_message_is_stored_headers_only_with_a_note(
    dovecot, imap_account, admin_a, org_a
):
    big = mail(1, subject="Quarterly figures")
    big.add_attachment(b"\x89" * (30 * 1024 * 1024), maintype="application", subtype="zip")
    dovecot.deliver(imap_account[0], [big, mail(2)])
    mailbox = connect(admin_a, dovecot, *imap_account)

    assert sync(mailbox) == 2

    with scopes_disabled():
        stored = Message.objects.get(org=org_a, subject="Quarterly figures")
    assert stored.headers_only and stored.note == Message.Note.TOO_LARGE
    assert stored.size > 30 * 1024 * 1024 and stored.body_text == ""
    assert "headers" in str(stored.get_note_display())


def test_mail5_a_message_with_500_recipients_links_the_contacts_among_them(
    dovecot, imap_account, admin_a, org_a
):
    with scopes_disabled():
        known = [ContactFactory(org=org_a, email=f"r{n}@crowd.example") for n in (7, 250, 499)]
    recipients = [f"R{n}@crowd.example" for n in range(500)]
    dovecot.deliver(imap_account[0], [mail(1, to=recipients[:300], cc=recipients[300:])])
    mailbox = connect(admin_a, dovecot, *imap_account)

    assert sync(mailbox) == 1

    with scopes_disabled():
        stored = Message.objects.get(org=org_a)
        assert len(stored.to) == 300 and len(stored.cc) == 200
        assert set(stored.contacts.all()) == set(known)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"secret": "wrong-password"}, "login_failed"),
        ({"port": "free"}, "unreachable"),
        ({"security": "tls"}, "tls_failed"),
        ({"security": "starttls"}, "server_error"),
    ],
)
def test_mail5_connection_failures_are_recorded_with_their_reason(
    dovecot, imap_account, admin_a, overrides, reason
):
    """Wrong credentials, an unreachable host, TLS against a plain server, STARTTLS a
    server without TLS does not offer: a recorded failure with its reason, nothing stored."""
    login, password = imap_account
    dovecot.deliver(login, [mail(1)])
    if overrides.get("port") == "free":
        overrides = {"port": free_port()}
    secret = overrides.pop("secret", password)
    mailbox = connect(admin_a, dovecot, login, secret, **overrides)

    assert sync(mailbox) == 0

    mailbox.refresh_from_db()
    assert mailbox.last_sync_result == Mailbox.SyncResult.FAILED
    assert mailbox.last_sync_error == reason
    assert mailbox.last_sync_at is not None and copies(mailbox) == []
    if reason == "login_failed":
        assert "Authentication failed" in mailbox.last_sync_detail


def test_mail5_private_hosts_are_refused_in_production(dovecot, imap_account, admin_a, settings):
    mailbox = connect(admin_a, dovecot, *imap_account)
    settings.MAIL_IMAP_ALLOW_PRIVATE_HOSTS = False

    assert sync(mailbox) == 0
    mailbox.refresh_from_db()
    assert mailbox.last_sync_error == "private_host"


def test_mail5_without_the_secret_key_nothing_syncs(dovecot, imap_account, admin_a, settings):
    mailbox = connect(admin_a, dovecot, *imap_account)
    settings.MAIL_SECRET_KEY = ""

    assert sync(mailbox) == 0
    mailbox.refresh_from_db()
    assert mailbox.last_sync_error == "secret_key_missing"


def test_mail5_the_sync_task_and_the_periodic_sweep(dovecot, imap_account, admin_a, org_a):
    dovecot.deliver(imap_account[0], [mail(1)])
    mailbox = connect(admin_a, dovecot, *imap_account)
    with scopes_disabled():
        gone = CrmUserFactory(org=org_a)
    connect(gone, dovecot, *imap_account)
    with scopes_disabled():
        CrmUser.objects.filter(pk=gone.pk).update(status=CrmUser.Status.DEACTIVATED)

    assert mailboxes_sync_all_task.apply().get() == 1
    assert copies(mailbox) == [1]
    assert mailbox_sync_task.apply(args=(org_a.pk, mailbox.pk)).get() == 0


def test_mail5_a_message_without_message_id_is_stored_once(dovecot, imap_account, admin_a, org_a):
    message = EmailMessage()
    message["From"], message["Subject"] = "a@example.net", "No id"
    message.set_content("hello")
    dovecot.deliver(imap_account[0], [message])
    mailbox = connect(admin_a, dovecot, *imap_account)
    sync(mailbox)
    dovecot.renumber(imap_account[0])
    sync(mailbox)
    assert messages(org_a).filter(subject="No id").count() == 1


def test_mail5_addresses_are_normalised_and_nul_bytes_never_reach_the_database():
    parsed = message_parse(
        b"From: =?utf-8?q?Kait=C5=8D?= <KAITO@Example.JP>\r\n"
        b"To: a\x00b@example.net, not-an-address, <Rin@EXAMPLE.jp>\r\n"
        b"Subject: =?no-such-charset?q?x?=\r\n\r\nbody\x00"
    )
    assert parsed.from_address == "kaito@example.jp" and parsed.from_name == "Kaitō"
    assert parsed.to == ["ab@example.net", "rin@example.jp"]
    assert "\x00" not in parsed.body_text and parsed.subject
