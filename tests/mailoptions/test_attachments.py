"""MAIL-5 (issue 14 point 2): attachments of synced messages are kept — name sanitised, type,
size, bytes in the org's storage — and downloadable only by those who may read the message;
over the size cap nothing but the headers is stored; a message seen again adds no attachment
twice. Synced from the real Dovecot the tests start."""

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from mailoptions.models import Message, MessageAttachment
from mailoptions.parsing import message_parse
from mailoptions.sync import mailbox_sync
from tests.conftest import client_for
from tests.mailoptions.conftest import connect, mail
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory, role_named
from users.models import Role

PDF = b"%PDF-1.4\n" + b"quarterly figures " * 2000 + b"\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def sync(mailbox) -> int:
    with scope(org=mailbox.org):
        return mailbox_sync(mailbox=mailbox)


def with_pdf(n: int, **extra):
    message = mail(n, sender="Kaito <kaito@example.jp>", **extra)
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="figures.pdf")
    return message


def attachments(org):
    with scopes_disabled():
        return list(MessageAttachment.objects.filter(org=org).order_by("message", "position"))


def download_url(attachment) -> str:
    return reverse(
        "mail_message_attachment",
        kwargs={
            "org_slug": attachment.org.slug,
            "message_pk": attachment.message_id,
            "attachment_pk": attachment.pk,
        },
    )


def message_url(message_pk: int, org) -> str:
    return reverse("mail_message", kwargs={"org_slug": org.slug, "message_pk": message_pk})


def test_mail5_a_pdf_attachment_is_downloadable_only_by_who_may_read_the_message(
    dovecot, imap_account, org_a, admin_a, member_a, admin_b
):
    """The owner and a user the record-level sharing lets in download it; a user of a lower
    role who does not see the linked contact and another org's admin get 404, as for an
    attachment that does not exist."""
    with scopes_disabled():
        ContactFactory(org=org_a, owner=member_a, email="kaito@example.jp")
        junior = Role.objects.create(
            org=org_a, name="Junior", parent=role_named(org_a, "Manager"), share_with_peers=False
        )
        lower = CrmUserFactory(org=org_a, role=junior)
    dovecot.deliver(imap_account[0], [with_pdf(1, subject="Figures")])
    mailbox = connect(member_a, dovecot, *imap_account, sharing="record_level")

    assert sync(mailbox) == 1, mailbox.last_sync_detail

    [attachment] = attachments(org_a)
    assert attachment.original_name == "figures.pdf"
    assert attachment.content_type == "application/pdf" and attachment.size == len(PDF)
    assert attachment.file.name.startswith(f"mail/{org_a.pk}/")
    assert "figures" not in attachment.file.name

    owner = client_for(member_a)
    page = owner.get(message_url(attachment.message_id, org_a)).content.decode()
    assert "figures.pdf" in page and download_url(attachment) in page
    for client in (owner, client_for(admin_a)):
        response = client.get(download_url(attachment))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"

    assert client_for(lower).get(download_url(attachment)).status_code == 404
    assert client_for(admin_b).get(download_url(attachment)).status_code == 404
    other_org = download_url(attachment).replace(f"/o/{org_a.slug}/", f"/o/{admin_b.org.slug}/")
    assert client_for(admin_b).get(other_org).status_code == 404
    missing = reverse(
        "mail_message_attachment",
        kwargs={
            "org_slug": org_a.slug,
            "message_pk": attachment.message_id,
            "attachment_pk": attachment.pk + 1000,
        },
    )
    assert owner.get(missing).status_code == 404


def test_mail5_an_attachment_under_another_message_of_the_reader_is_404(
    dovecot, imap_account, org_a, member_a
):
    """The URL's message must be the attachment's own: a message the reader may see does not
    open another message's attachment."""
    with scopes_disabled():
        other = CrmUserFactory(org=org_a)
        other_login = imap_account[0] + "x"
    dovecot.add_user(other_login, "other-password")
    dovecot.deliver(imap_account[0], [mail(1)])
    dovecot.deliver(other_login, [with_pdf(2)])
    sync(connect(member_a, dovecot, *imap_account, sharing="dont_share"))
    sync(connect(other, dovecot, other_login, "other-password", sharing="dont_share"))
    with scopes_disabled():
        mine = Message.objects.get(org=org_a, subject="Message 1")
    [theirs] = attachments(org_a)

    url = reverse(
        "mail_message_attachment",
        kwargs={"org_slug": org_a.slug, "message_pk": mine.pk, "attachment_pk": theirs.pk},
    )
    assert client_for(member_a).get(url).status_code == 404
    assert client_for(member_a).get(download_url(theirs)).status_code == 404
    assert client_for(other).get(download_url(theirs)).status_code == 200


def test_mail5_a_30_mb_attachment_over_the_cap_is_not_stored_and_the_note_says_so(
    dovecot, imap_account, org_a, admin_a, _media
):
    big = mail(1, subject="Huge")
    big.add_attachment(b"\x89" * (30 * 1024 * 1024), maintype="application", subtype="pdf")
    dovecot.deliver(imap_account[0], [big, with_pdf(2, subject="Small")])
    mailbox = connect(admin_a, dovecot, *imap_account)

    assert sync(mailbox) == 2

    with scopes_disabled():
        huge = Message.objects.get(org=org_a, subject="Huge")
        small = Message.objects.get(org=org_a, subject="Small")
        assert huge.headers_only and not huge.attachments.exists()
        assert small.attachments.count() == 1
    assert "attachments were not" in str(huge.get_note_display())
    page = client_for(admin_a).get(message_url(huge.pk, org_a)).content.decode()
    assert "the body and the attachments were not" in page
    stored = [p for p in _media.rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].stat().st_size == len(PDF)


def test_mail5_a_message_seen_again_adds_no_attachment_twice(
    dovecot, imap_account, org_a, admin_a, member_a, _media
):
    """The same message in a second mailbox, then a UIDVALIDITY change: one set of
    attachments, one set of files."""
    other_login = imap_account[0] + "b"
    dovecot.add_user(other_login, "other-password")
    shared = with_pdf(1, message_id="<shared-pdf@example.net>")
    shared.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="rows.csv")
    dovecot.deliver(imap_account[0], [shared])
    dovecot.deliver(other_login, [shared])
    mine = connect(admin_a, dovecot, *imap_account)
    theirs = connect(member_a, dovecot, other_login, "other-password")

    sync(mine)
    sync(theirs)
    first = [(a.pk, a.original_name, a.position) for a in attachments(org_a)]
    assert [name for _pk, name, _p in first] == ["figures.pdf", "rows.csv"]

    dovecot.renumber(imap_account[0])
    assert sync(mine) == 1, mine.last_sync_detail

    assert [(a.pk, a.original_name, a.position) for a in attachments(org_a)] == first
    assert len([p for p in _media.rglob("*") if p.is_file()]) == 2


HOSTILE_NAMES = [
    # (how the name is written in the part's header, what is shown and sent back)
    ('filename="../../etc/passwd"', "passwd"),
    ("filename*=utf-8''..%2F..%2Fetc%2Fpasswd%0D%0ASet-Cookie%3A%20a%3Db.pdf", None),
    ('filename="' + "a" * 400 + '.pdf"', "a" * 187 + ".pdf"),
    ("filename*=utf-8''invoice%E2%80%AEfdp.exe", "invoicefdp.exe"),
    ('filename="..\\\\..\\\\windows\\\\system.ini"', "system.ini"),
    ('filename="=?utf-8?b?0LDQutGCLnBkZg==?="', "акт.pdf"),
]


def hostile_message(disposition: str) -> bytes:
    return (
        b"From: Kaito <kaito@example.jp>\r\nTo: me@alpha.example\r\nSubject: Hostile\r\n"
        b"Message-ID: <hostile@example.net>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; " + disposition.encode() + b"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    )


@pytest.mark.parametrize(("disposition", "shown"), HOSTILE_NAMES)
def test_mail5_hostile_attachment_names_are_sanitised(disposition, shown):
    [attachment] = message_parse(hostile_message(disposition)).attachments
    name = attachment.filename
    assert attachment.data == b"%PDF-1.4\n"
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert "\r" not in name and "\n" not in name and "\u202e" not in name
    assert 0 < len(name) <= 200
    if shown is not None:
        assert name == shown
    else:
        assert name.endswith("Set-Cookie_ a=b.pdf") and name.startswith("passwd")


def test_mail5_a_hostile_name_synced_and_downloaded_gives_a_safe_header(
    dovecot, imap_account, org_a, admin_a
):
    """End to end: CRLF and a right-to-left override in the name never reach the response's
    headers; an HTML attachment is sent as bytes, never as a page."""
    crlf = hostile_message(HOSTILE_NAMES[1][0])
    html = (
        b"From: a@example.net\r\nTo: me@alpha.example\r\nSubject: Page\r\n"
        b"Message-ID: <page@example.net>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n"
        b"--b\r\nContent-Type: text/html\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''page%E2%80%AElmth.svg\r\n\r\n"
        b"<script>alert(1)</script>\r\n--b--\r\n"
    )
    dovecot.deliver(imap_account[0], [crlf, html])
    mailbox = connect(admin_a, dovecot, *imap_account)
    assert sync(mailbox) == 2, mailbox.last_sync_detail
    client = client_for(admin_a)

    for attachment in attachments(org_a):
        response = client.get(download_url(attachment))
        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "\r" not in disposition and "\n" not in disposition
        assert "Set-Cookie" not in response.headers
        assert response["X-Content-Type-Options"] == "nosniff"
        if attachment.original_name.startswith("page"):
            assert attachment.original_name == "pagelmth.svg"
            assert response["Content-Type"] == "application/octet-stream"
