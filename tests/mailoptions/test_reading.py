"""Reading (issue 14 point 2, MAIL-5 with USR-2): a contact's page lists the linked messages the
viewer may see — their own, others' under the owner's sharing setting and the viewer's record
visibility; bodies are sanitised with nh3 and remote images stay blocked until asked for."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from mailoptions.models import Folder, Mailbox, Message, MessageContact, MessageCopy
from mailoptions.rendering import message_html
from tests.conftest import client_for
from tests.mailoptions.factories import mailbox_of
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory, role_named
from users.models import CrmUser, Role

HOSTILE = (
    '<p onclick="steal()">Hello <b>Kaito</b></p><script>alert(1)</script>'
    '<img src="https://tracker.example/pixel.gif" alt="pixel">'
    '<a href="javascript:alert(2)">click</a><iframe src="https://evil.example"></iframe>'
)


def message_in(mailbox, contact, *, subject="Hello", html=HOSTILE) -> Message:
    with scopes_disabled():
        folder, _ = Folder.objects.get_or_create(
            org=mailbox.org, mailbox=mailbox, name="INBOX", defaults={"uidvalidity": 1}
        )
        message = Message.objects.create(
            org=mailbox.org,
            key=subject.encode().hex().ljust(64, "0")[:64],
            subject=subject,
            from_address=contact.email,
            body_html=html,
            to=["me@alpha.example"],
        )
        uid = MessageCopy.objects.filter(folder=folder).count() + 1
        MessageCopy.objects.create(
            org=mailbox.org, mailbox=mailbox, folder=folder, uid=uid, message=message
        )
        MessageContact.objects.create(org=mailbox.org, message=message, contact=contact)
    return message


@pytest.fixture
def contact(org_a, member_a):
    with scopes_disabled():
        return ContactFactory(org=org_a, owner=member_a, email="kaito@example.jp")


def contact_page(client, contact) -> str:
    url = reverse("contact_detail", kwargs={"org_slug": contact.org.slug, "contact_pk": contact.pk})
    return client.get(url).content.decode()


def message_url(message) -> str:
    return reverse("mail_message", kwargs={"org_slug": message.org.slug, "message_pk": message.pk})


def test_mail5_the_contact_page_lists_own_and_shared_messages_not_private_ones(
    org_a, admin_a, member_a, contact, client_member_a
):
    with scopes_disabled():
        sato = CrmUserFactory(org=org_a)
        ito = CrmUserFactory(org=org_a)
        gone = CrmUserFactory(org=org_a)
    message_in(mailbox_of(member_a, "dont_share"), contact, subject="Mine, private")
    message_in(mailbox_of(sato, "record_level"), contact, subject="Sato, record level")
    message_in(mailbox_of(ito, "dont_share"), contact, subject="Ito, private")
    message_in(mailbox_of(gone, "share_all"), contact, subject="Gone, shared")
    with scopes_disabled():
        CrmUser.objects.filter(pk=gone.pk).update(status=CrmUser.Status.DEACTIVATED)

    page = contact_page(client_member_a, contact)

    assert "Mine, private" in page and "Sato, record level" in page
    assert "Ito, private" not in page and "Gone, shared" not in page


def test_mail5_record_level_messages_follow_the_viewers_record_visibility(
    org_a, admin_a, contact, client_for_role
):
    """USR-2: a user of a lower role who cannot see the contact cannot read its messages
    shared at record level; shared with everyone, they can."""
    with scopes_disabled():
        owner = CrmUserFactory(org=org_a, role=role_named(org_a, "CEO"))
    record_level = message_in(mailbox_of(owner, "record_level"), contact, subject="RL")
    client, lower = client_for_role(org_a)

    assert client.get(message_url(record_level)).status_code == 404
    with scopes_disabled():
        Mailbox.objects.filter(owner=owner).update(sharing="share_all")
    assert client.get(message_url(record_level)).status_code == 200


def test_mail5_bodies_are_sanitised_and_remote_images_blocked_until_asked(
    org_a, member_a, contact, client_member_a
):
    message = message_in(mailbox_of(member_a, "dont_share"), contact)

    response = client_member_a.get(message_url(message))
    body = response.content.decode()
    assert "<b>Kaito</b>" in body
    assert "<script>alert(1)" not in body and "onclick" not in body
    assert "javascript:" not in body and "<iframe" not in body
    assert "tracker.example" not in body
    assert "1 remote image was blocked." in body
    assert "tracker.example" not in response["Content-Security-Policy"]

    shown = client_member_a.get(message_url(message), {"images": "1"})
    assert 'src="https://tracker.example/pixel.gif"' in shown.content.decode()
    assert "https:" in shown["Content-Security-Policy"]


def test_mail5_a_message_nobody_shared_is_404_for_others(
    org_a, admin_a, member_a, contact, client_admin_a
):
    private = message_in(mailbox_of(member_a, "dont_share"), contact)
    assert client_admin_a.get(message_url(private)).status_code == 404


def test_mail5_html_sanitiser_keeps_inline_data_images():
    html, blocked = message_html(
        '<img src="data:image/png;base64,AAAA"><img src="cid:logo">', show_images=False
    )
    assert 'src="data:image/png;base64,AAAA"' in html and "cid:" not in html
    assert blocked == 0


@pytest.fixture
def client_for_role(db):
    """A member of a new role under Manager who sees only their own records (USR-2)."""

    def make(org):
        with scopes_disabled():
            lower = Role.objects.create(
                org=org, name="Junior", parent=role_named(org, "Manager"), share_with_peers=False
            )
            member = CrmUserFactory(org=org, role=lower)
        return client_for(member), member

    return make
