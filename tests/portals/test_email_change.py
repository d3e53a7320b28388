"""POR-5: an admin changes a portal user's email address (issue 12, Deliver 5). Each case runs
end to end: the admin's form in the CRM, the mail through Django's SMTP backend to a real SMTP
server (aiosmtpd) in this process, the link followed, and the portal's sign-in page."""

import email
import email.policy
import re
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from portals.members import portal_user_invite
from portals.models import EmailChange, PortalUser
from tests.portals.factories import PortalFactory, PortalUserFactory, UserGroupFactory
from tests.records.factories import ContactFactory
from tests.users.factories import PASSWORD, UserFactory
from users.models import AuditLogEntry

CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/portal/[^/\s]+/email/[^/\s]+/)")
INVITE_LINK = re.compile(r"https?://[^/\s]+(/invite/[^/\s]+/)")
UNUSABLE = "This address can&#x27;t be used. Choose another one."
INVALID_LINK = "This link is not valid."


class Sink:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [
            email.message_from_bytes(e.content, policy=email.policy.default)
            for e in self.received
            if address.lower() in [r.lower() for r in e.rcpt_tos]
        ]


@pytest.fixture
def smtp_sink(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield sink
    controller.stop()


@pytest.fixture
def portal(org_a):
    with scopes_disabled():
        return PortalFactory(
            org=org_a, name="Alpha Help", slug="alpha-help", languages=["en", "ja"]
        )


@pytest.fixture
def group(portal):
    with scopes_disabled():
        return UserGroupFactory(portal=portal)


def active_user(group, address="old@example.com", language="en"):
    with scopes_disabled():
        contact = ContactFactory(org=group.org, first_name="Paula", email=address)
        return PortalUserFactory(
            group=group,
            contact=contact,
            user=UserFactory(email=address),
            status=PortalUser.Status.ACTIVE,
            language=language,
        )


def stored(portal_user) -> PortalUser:
    with scopes_disabled():
        return PortalUser.objects.get(pk=portal_user.pk)


def change_url(portal_user) -> str:
    return reverse(
        "portal_user_email_change",
        kwargs={
            "org_slug": portal_user.org.slug,
            "portal_pk": portal_user.portal_id,
            "portal_user_pk": portal_user.pk,
        },
    )


def ask_change(client, portal_user, address, capture):
    with capture(execute=True):
        return client.post(change_url(portal_user), {"email": address}, follow=True)


def signs_in(portal, address) -> bool:
    client = Client()
    response = client.post(
        f"/portal/{portal.slug}/sign-in/", {"login": address, "password": PASSWORD}
    )
    return response.status_code == 302 and response["Location"] == f"/portal/{portal.slug}/"


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message, pattern=CONFIRM_LINK) -> str:
    return pattern.search(text_of(message)).group(1)


# --- an active user -------------------------------------------------------------------------


def test_por5_active_user_confirms_at_the_new_address_then_signs_in_with_it(
    client_admin_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    portal_user = active_user(group)
    page = ask_change(
        client_admin_a, portal_user, "new@example.com", django_capture_on_commit_callbacks
    )
    assert "A confirmation was sent to new@example.com" in page.content.decode()
    assert "waiting: new@example.com" in page.content.decode()  # the Users tab shows it

    (confirmation,) = smtp_sink.to("new@example.com")
    assert confirmation["Subject"] == "Confirm your new email address for Alpha Help"
    (notice,) = smtp_sink.to("old@example.com")
    assert "n***@example.com" in text_of(notice) and "new@example.com" not in text_of(notice)
    assert "Alpha Help" in notice["Subject"]

    pending = stored(portal_user)
    assert pending.status == PortalUser.Status.LOGIN_PENDING
    assert (pending.email, pending.pending_email) == ("old@example.com", "new@example.com")
    assert signs_in(portal, "old@example.com"), "the old address works until confirmed"
    assert not signs_in(portal, "new@example.com")

    link = link_in(confirmation)
    with scopes_disabled():
        change = EmailChange.objects.get(portal_user=portal_user)
        token = link.rstrip("/").rsplit("/", 1)[-1]
        assert token not in change.token_hash, "only the hash is stored"
        assert timedelta(days=6) < change.expires_at - timezone.now() <= timedelta(days=7)
    visitor = Client()
    shown = visitor.get(link)
    assert shown.status_code == 200 and "new@example.com" in shown.content.decode()
    assert stored(portal_user).pending_email == "new@example.com", "a GET changes nothing"
    done = visitor.post(link, follow=True)
    assert "Sign in with new@example.com from now on." in done.content.decode()

    changed = stored(portal_user)
    assert changed.status == PortalUser.Status.ACTIVE
    assert (changed.email, changed.pending_email) == ("new@example.com", "")
    with scopes_disabled():
        assert changed.user.email == "new@example.com"
        address = EmailAddress.objects.get(user=changed.user)
        assert (address.email, address.primary, address.verified) == ("new@example.com", 1, 1)
        actions = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert {"portal_user.email_change_requested", "portal_user.email_changed"} <= actions
    assert signs_in(portal, "new@example.com")
    assert not signs_in(portal, "old@example.com")


def test_por5_confirmation_is_in_the_users_language(
    client_admin_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    portal_user = active_user(group, language="ja")
    ask_change(client_admin_a, portal_user, "shin@example.jp", django_capture_on_commit_callbacks)
    (confirmation,) = smtp_sink.to("shin@example.jp")
    assert confirmation["Subject"].strip() == "Alpha Help の新しいメールアドレスの確認"


def test_por5_someone_signed_in_as_another_account_cannot_confirm(
    client_admin_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    portal_user = active_user(group)
    ask_change(client_admin_a, portal_user, "new@example.com", django_capture_on_commit_callbacks)
    link = link_in(smtp_sink.to("new@example.com")[0])
    intruder = Client()
    intruder.force_login(UserFactory(email="mallory@example.net"))
    assert intruder.post(link).status_code == 403
    assert "another account" in intruder.get(link).content.decode()
    assert stored(portal_user).pending_email == "new@example.com"
    assert signs_in(portal, "old@example.com")


def test_por5_used_expired_replaced_and_unknown_links_look_the_same(
    client_admin_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    portal_user = active_user(group)
    ask_change(client_admin_a, portal_user, "first@example.com", django_capture_on_commit_callbacks)
    replaced = link_in(smtp_sink.to("first@example.com")[0])
    ask_change(client_admin_a, portal_user, "new@example.com", django_capture_on_commit_callbacks)
    link = link_in(smtp_sink.to("new@example.com")[0])
    visitor = Client()
    assert visitor.post(link).status_code == 302
    used = visitor.get(link)

    other = active_user(group, address="later@example.com")
    ask_change(client_admin_a, other, "later2@example.com", django_capture_on_commit_callbacks)
    late = link_in(smtp_sink.to("later2@example.com")[0])
    with scopes_disabled():
        EmailChange.objects.filter(portal_user=other).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    expired = visitor.get(late)
    unknown = visitor.get(f"/portal/{portal.slug}/email/{'x' * 43}/")
    pages = [used, expired, visitor.get(replaced), unknown]
    assert {p.status_code for p in pages} == {404}
    bodies = {
        p.content.decode().replace(p.wsgi_request.path, "").replace("csrfmiddlewaretoken", "")
        for p in pages
    }
    assert all(INVALID_LINK in b for b in bodies)
    assert visitor.post(late).status_code == 404
    assert stored(other).pending_email == "later2@example.com", "an expired link does nothing"
    assert signs_in(portal, "later@example.com") and not signs_in(portal, "later2@example.com")


# --- someone who never accepted ---------------------------------------------------------------


def test_por5_invited_user_gets_a_fresh_invitation_at_the_new_address(
    client_admin_a, admin_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    with scopes_disabled():
        contact = ContactFactory(org=portal.org, first_name="Yuki", email="yuki@example.jp")
    with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
        portal_user = portal_user_invite(actor=admin_a, portal=portal, contact=contact, group=group)
    old_link = link_in(smtp_sink.to("yuki@example.jp")[0], INVITE_LINK)

    page = ask_change(
        client_admin_a, portal_user, "yuki@example.com", django_capture_on_commit_callbacks
    )
    assert "A new invitation was sent to yuki@example.com" in page.content.decode()
    assert stored(portal_user).email == "yuki@example.com"
    assert stored(portal_user).status == PortalUser.Status.INVITED
    new_link = link_in(smtp_sink.to("yuki@example.com")[0], INVITE_LINK)
    assert new_link != old_link

    client = Client()
    assert "This invitation link is not valid" in client.get(old_link).content.decode()
    token = new_link.split("/")[2]
    client.get(new_link)
    assert client.post(f"/invite/{token}/signup/")["Location"] == "/accounts/signup/"
    client.post(
        "/accounts/signup/",
        {
            "email": "yuki@example.com",
            "first_name": "Yuki",
            "last_name": "Tanaka",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert client.post(f"{new_link}accept/")["Location"] == f"/portal/{portal.slug}/"
    assert stored(portal_user).status == PortalUser.Status.ACTIVE
    assert signs_in(portal, "yuki@example.com")


# --- a disabled user ------------------------------------------------------------------------


def test_por5_disabled_user_gets_the_confirmation_only_when_enabled(
    client_admin_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    portal_user = active_user(group)
    with scopes_disabled():
        PortalUser.objects.filter(pk=portal_user.pk).update(status=PortalUser.Status.DISABLED)
    page = ask_change(
        client_admin_a, portal_user, "new@example.com", django_capture_on_commit_callbacks
    )
    assert "The confirmation is sent when the user is enabled again." in page.content.decode()
    assert smtp_sink.received == []
    assert stored(portal_user).pending_email == "new@example.com"
    assert stored(portal_user).status == PortalUser.Status.DISABLED

    bulk = reverse(
        "portal_users_bulk", kwargs={"org_slug": portal.org.slug, "portal_pk": portal.pk}
    )
    with django_capture_on_commit_callbacks(execute=True):
        client_admin_a.post(bulk, {"action": "enable", "users": [portal_user.pk]})
    assert stored(portal_user).status == PortalUser.Status.LOGIN_PENDING
    (confirmation,) = smtp_sink.to("new@example.com")
    assert smtp_sink.to("old@example.com")  # the notice
    assert Client().post(link_in(confirmation)).status_code == 302
    assert signs_in(portal, "new@example.com")


# --- refusals -------------------------------------------------------------------------------


def test_por5_address_of_another_account_or_portal_user_is_refused_without_naming_them(
    client_admin_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    portal_user = active_user(group)
    neighbour = active_user(group, address="neighbour@example.com")
    with scopes_disabled():
        UserFactory(email="owner@example.org")
        invited = PortalUserFactory(group=group, email="invited@example.com")
    for taken in ("owner@example.org", "NEIGHBOUR@example.com", invited.email):
        page = ask_change(client_admin_a, portal_user, taken, django_capture_on_commit_callbacks)
        body = page.content.decode()
        assert page.status_code == 400 and UNUSABLE in body
        assert str(neighbour.contact) not in body and str(invited.contact) not in body
        assert f'value="{taken}"' in body, "what was typed stays"
    assert smtp_sink.received == []
    assert stored(portal_user).pending_email == ""
    assert stored(portal_user).status == PortalUser.Status.ACTIVE


def test_por5_same_address_changes_nothing(
    client_admin_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    portal_user = active_user(group)
    page = ask_change(
        client_admin_a, portal_user, "OLD@example.com", django_capture_on_commit_callbacks
    )
    assert "is already this user&#x27;s address: nothing changed." in page.content.decode()
    assert smtp_sink.received == []
    assert stored(portal_user).status == PortalUser.Status.ACTIVE


@pytest.mark.parametrize(
    "hostile",
    ["a@b.c\r\nBcc: x@evil.test", "x" * 10_000 + "@example.com", "not an address", ""],
    ids=["header-injection", "10kb", "not-an-address", "empty"],
)
def test_por5_hostile_or_invalid_input_is_refused_keeping_what_was_typed(
    hostile, client_admin_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    portal_user = active_user(group)
    page = ask_change(client_admin_a, portal_user, hostile, django_capture_on_commit_callbacks)
    body = page.content.decode()
    assert page.status_code == 400
    assert "Enter a valid email address." in body or "Enter the new email address." in body
    if hostile:
        assert hostile.split("\r\n")[-1] in body, "what was typed stays"
    assert smtp_sink.received == []
    assert stored(portal_user).email == "old@example.com"
    assert stored(portal_user).pending_email == ""


def test_por5_the_users_tab_links_each_row_to_the_change(client_admin_a, portal, group):
    portal_user = active_user(group)
    page = client_admin_a.get(
        reverse("portal_user_list", kwargs={"org_slug": portal.org.slug, "portal_pk": portal.pk})
    )
    assert change_url(portal_user) in page.content.decode()
    form = client_admin_a.get(change_url(portal_user))
    assert form.status_code == 200 and "old@example.com" in form.content.decode()


def test_por5_signed_in_person_confirms_and_stays_signed_in(
    client_admin_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    portal_user = active_user(group)
    ask_change(client_admin_a, portal_user, "new@example.com", django_capture_on_commit_callbacks)
    link = link_in(smtp_sink.to("new@example.com")[0])
    person = Client()
    person.force_login(portal_user.user)
    done = person.post(link)
    assert done["Location"] == f"/portal/{portal.slug}/"
    assert person.get(done["Location"]).status_code == 200
    assert stored(portal_user).email == "new@example.com"


def test_por5_reinvite_of_a_login_pending_user_sends_the_confirmation_again(
    client_admin_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    portal_user = active_user(group)
    ask_change(client_admin_a, portal_user, "new@example.com", django_capture_on_commit_callbacks)
    first = link_in(smtp_sink.to("new@example.com")[0])
    bulk = reverse(
        "portal_users_bulk", kwargs={"org_slug": portal.org.slug, "portal_pk": portal.pk}
    )
    with django_capture_on_commit_callbacks(execute=True):
        client_admin_a.post(bulk, {"action": "reinvite", "users": [portal_user.pk]})
    first_again, second = smtp_sink.to("new@example.com")
    again = link_in(second)
    assert again != first
    assert Client().post(first).status_code == 404, "the older link died"
    assert Client().post(again).status_code == 302
    assert signs_in(portal, "new@example.com")


def test_por5_the_same_account_in_another_portal_follows_the_new_address(
    client_admin_a, org_a, portal, group, smtp_sink, django_capture_on_commit_callbacks
):
    portal_user = active_user(group)
    with scopes_disabled():
        elsewhere = PortalUserFactory(
            group=UserGroupFactory(portal=PortalFactory(org=org_a)),
            contact=portal_user.contact,
            user=portal_user.user,
            email="old@example.com",
            status=PortalUser.Status.ACTIVE,
        )
    ask_change(client_admin_a, portal_user, "new@example.com", django_capture_on_commit_callbacks)
    Client().post(link_in(smtp_sink.to("new@example.com")[0]))
    assert stored(elsewhere).email == "new@example.com"
    assert signs_in(elsewhere.portal, "new@example.com")
