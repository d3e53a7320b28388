"""MAIL-5: mail sent from a contact's page goes out through a worker and is stored and linked
as a synced message is; when the sender's mailbox syncs it later, it is not stored twice."""

from django.urls import reverse
from django_scopes import scopes_disabled

from mailoptions.models import Mailbox, Message
from tests.mailoptions.conftest import connect
from tests.mailoptions.test_sync import sync
from tests.records.factories import ContactFactory


def send_url(contact):
    return reverse(
        "mail_contact_send", kwargs={"org_slug": contact.org.slug, "contact_pk": contact.pk}
    )


def contact_url(contact):
    return reverse(
        "contact_detail", kwargs={"org_slug": contact.org.slug, "contact_pk": contact.pk}
    )


def test_mail5_mail_sent_from_a_contacts_page_is_delivered_stored_and_linked(
    org_a,
    member_a,
    admin_a,
    client_member_a,
    client_admin_a,
    mailoutbox,
    django_capture_on_commit_callbacks,
    dovecot,
    imap_account,
):
    with scopes_disabled():
        contact = ContactFactory(org=org_a, owner=member_a, email="Kaito@example.jp")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_member_a.post(
            send_url(contact), {"subject": "Your order\r\nBcc: x@evil.example", "body": "Hello"}
        )
    assert response.status_code == 302
    [sent] = mailoutbox
    assert sent.to == ["Kaito@example.jp"] and sent.reply_to == [member_a.email]
    assert sent.subject == "Your order Bcc: x@evil.example" and not sent.bcc
    with scopes_disabled():
        message = Message.objects.get(org=org_a)
        assert list(message.contacts.all()) == [contact] and message.sent_by == member_a
    assert "Your order" in client_member_a.get(contact_url(contact)).content.decode()
    # The sender has no mailbox: nobody else sees it.
    assert "Your order" not in client_admin_a.get(contact_url(contact)).content.decode()

    mailbox = connect(member_a, dovecot, *imap_account, sharing="share_all")
    dovecot.deliver(imap_account[0], [sent.message().as_bytes()])  # the Sent folder, synced
    assert sync(mailbox) == 1
    with scopes_disabled():
        assert Message.objects.filter(org=org_a).count() == 1
        assert Mailbox.objects.get(pk=mailbox.pk).copies.get().message == message
    assert "Your order" in client_admin_a.get(contact_url(contact)).content.decode()


def test_mail5_bad_input_is_refused_with_nothing_sent_or_stored(
    org_a, member_a, client_member_a, mailoutbox, django_capture_on_commit_callbacks
):
    with scopes_disabled():
        contact = ContactFactory(org=org_a, owner=member_a)
        no_address = ContactFactory(org=org_a, owner=member_a, email="")
    with django_capture_on_commit_callbacks(execute=True):
        empty = client_member_a.post(send_url(contact), {"subject": " ", "body": ""})
        refused = client_member_a.post(send_url(no_address), {"subject": "Hi", "body": "x"})
    assert empty.status_code == 200 and refused.status_code == 200
    assert "This contact has no email address." in refused.content.decode()
    assert mailoutbox == []
    with scopes_disabled():
        assert not Message.objects.filter(org=org_a).exists()


def test_mail5_a_contact_the_member_cannot_see_is_404(org_a, admin_a, client_member_a):
    with scopes_disabled():
        hidden = ContactFactory(org=org_a, owner=admin_a)
    assert client_member_a.get(send_url(hidden)).status_code == 404
