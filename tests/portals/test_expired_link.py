"""Expired portal links, the person's side (POR-9, USR-4): the invalid-link page offers "Ask
for a new invitation link"; only an expired portal-user invitation whose invited address is
the typed one gets a new mail (to the invited address), at most once an hour; every other case
answers with the same page and sends nothing, and the invalid page reads the same whatever the
link."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from invitations.crm_users import crm_user_add_and_invite
from invitations.kinds import InvitationKind, invitation_kind
from invitations.models import Invitation
from portals.members import portal_user_invite, portal_users_disable
from portals.models import Portal, PortalUser
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.records.factories import ContactFactory
from tests.users.factories import UserFactory, builtin_profile, role_named
from users.audit import audit_sentence
from users.models import AuditLogEntry

LINK = re.compile(r"https?://[^/\s]+(/invite/[^/\s]+/)")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
ANSWER = "If this link was sent to that address, a new one is on its way."


@pytest.fixture
def portal(org_a):
    with scopes_disabled():
        return PortalFactory(org=org_a, name="Help centre", slug="help", languages=["en", "ja"])


@pytest.fixture
def group(portal):
    with scopes_disabled():
        return UserGroupFactory(portal=portal, name="Customers")


@pytest.fixture
def invite(admin_a, portal, group, django_capture_on_commit_callbacks):
    """Invite a contact to the portal; returns (portal user, link path)."""

    def make(email="yuki@example.jp"):
        with scopes_disabled():
            contact = ContactFactory(
                org=portal.org, first_name="Yuki", last_name="Tanaka", email=email, language="en"
            )
        mail.outbox.clear()
        with scope(org=portal.org), django_capture_on_commit_callbacks(execute=True):
            portal_user = portal_user_invite(
                actor=admin_a, portal=portal, contact=contact, group=group
            )
        [message] = mail.outbox
        mail.outbox.clear()
        return portal_user, LINK.search(message.body).group(1)

    return make


@pytest.fixture
def ask(client, django_capture_on_commit_callbacks):
    """POST the invalid page's form for `link` with `email`; returns the response (the mail
    task runs as the test settings run it)."""

    def post(link, email, who=None):
        with django_capture_on_commit_callbacks(execute=True):
            return (who or client).post(link, {"email": email})

    return post


def expire(portal_user, sent_ago=timedelta(days=8)):
    now = timezone.now()
    with scopes_disabled():
        Invitation.objects.filter(portal_user=portal_user).update(
            expires_at=now - timedelta(seconds=1), last_sent_at=now - sent_ago
        )


def main_of(response) -> str:
    body = response.content.decode()
    return CSRF.sub("", body[body.index('<main id="main">') : body.index("</main>")])


def test_por9_expired_link_asks_and_gets_a_working_new_link_at_the_invited_address(
    invite, ask, client
):
    portal_user, old_link = invite()
    expire(portal_user)
    page = client.get(old_link)
    assert page.status_code == 404
    assert "Ask for a new invitation link" in page.content.decode()

    answer = ask(old_link, "  YUKI@Example.JP ")
    assert answer.status_code == 200
    assert ANSWER in answer.content.decode()
    [message] = mail.outbox
    assert message.to == ["yuki@example.jp"]
    new_link = LINK.search(message.body).group(1)
    assert new_link != old_link
    assert client.get(old_link).status_code == 404, "the old link stays dead"

    person = Client()
    person.force_login(UserFactory(email="yuki@example.jp"))
    assert person.get(new_link).status_code == 200
    assert person.post(f"{new_link}accept/")["Location"] == "/portal/help/"
    with scopes_disabled():
        assert PortalUser.objects.get(pk=portal_user.pk).status == PortalUser.Status.ACTIVE
        entry = AuditLogEntry.objects.get(action="portal_user.reinvited")
    assert entry.actor is None
    sentence = audit_sentence(entry.action, entry.details)
    assert "asked for a new invitation to the portal Help centre" in sentence


def test_por9_a_second_request_within_the_hour_sends_nothing(invite, ask):
    portal_user, link = invite()
    expire(portal_user)
    first = ask(link, "yuki@example.jp")
    assert len(mail.outbox) == 1
    new_link = LINK.search(mail.outbox[0].body).group(1)
    mail.outbox.clear()

    again = ask(link, "yuki@example.jp")  # the old link again
    # The new link expired too, but it went out less than an hour ago (stored on the
    # invitation, not in a cache).
    expire(portal_user, sent_ago=timedelta(minutes=30))
    soon = ask(new_link, "yuki@example.jp")
    assert mail.outbox == []
    assert main_of(first) == main_of(again) == main_of(soon)

    expire(portal_user, sent_ago=timedelta(minutes=61))
    ask(new_link, "yuki@example.jp")
    assert len(mail.outbox) == 1, "after the hour the person may ask again"


def test_por9_usr4_every_other_case_answers_the_same_and_sends_nothing(
    invite, ask, client, admin_a, org_a, portal, django_capture_on_commit_callbacks
):
    expected = ask("/invite/not-a-real-token/", "yuki@example.jp")
    cases = {"unknown token": expected}

    portal_user, link = invite()
    expire(portal_user)
    cases["wrong address"] = ask(link, "someone@example.jp")
    cases["address that merely contains it"] = ask(link, "yuki@example.jp.evil.test")
    cases["not expired yet"] = None  # below

    used_user, used_link = invite(email="used@example.jp")
    person = Client()
    person.force_login(UserFactory(email="used@example.jp"))
    person.post(f"{used_link}accept/")
    cases["used"] = ask(used_link, "used@example.jp")

    revoked_user, revoked_link = invite(email="revoked@example.jp")
    expire(revoked_user)
    with scope(org=org_a):
        portal_users_disable(actor=admin_a, portal=portal, portal_users=[revoked_user])
    cases["portal user disabled"] = ask(revoked_link, "revoked@example.jp")
    with scopes_disabled():
        Invitation.objects.filter(portal_user=revoked_user).update(
            status=Invitation.Status.REVOKED, token_hash=None
        )
    cases["revoked"] = ask(revoked_link, "revoked@example.jp")

    off_user, off_link = invite(email="off@example.jp")
    expire(off_user)
    with scopes_disabled():
        Portal.objects.filter(pk=portal.pk).update(is_enabled=False)
    cases["portal turned off"] = ask(off_link, "off@example.jp")
    with scopes_disabled():
        Portal.objects.filter(pk=portal.pk).update(is_enabled=True)

    open_user, open_link = invite(email="open@example.jp")
    cases["not expired yet"] = ask(open_link, "open@example.jp")

    with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
        membership = crm_user_add_and_invite(
            org=org_a,
            actor=admin_a,
            first_name="Kenji",
            last_name="Sato",
            email="kenji@example.jp",
            role=role_named(org_a, "Manager"),
            profile=builtin_profile(org_a, "standard"),
        )
    crm_link = LINK.search(mail.outbox[-1].body).group(1)
    mail.outbox.clear()
    with scopes_disabled():
        Invitation.objects.filter(crm_user=membership).update(
            expires_at=timezone.now() - timedelta(seconds=1),
            last_sent_at=timezone.now() - timedelta(days=8),
        )
    cases["CRM user invitation"] = ask(crm_link, "kenji@example.jp")

    assert mail.outbox == [], "nothing was sent"
    assert {name: r.status_code for name, r in cases.items()} == dict.fromkeys(cases, 200)
    assert all(ANSWER in r.content.decode() for r in cases.values())
    assert len({main_of(r) for r in cases.values()}) == 1, "the same answer in every case"
    with scopes_disabled():
        assert not AuditLogEntry.objects.filter(action="portal_user.reinvited").exists()


def test_por9_usr4_the_invalid_page_reads_the_same_whatever_the_link(invite, client):
    expired_user, expired_link = invite()
    expire(expired_user)
    used_user, used_link = invite(email="used@example.jp")
    person = Client()
    person.force_login(UserFactory(email="used@example.jp"))
    person.post(f"{used_link}accept/")
    pages = [client.get(link) for link in ("/invite/not-a-real-token/", expired_link, used_link)]
    assert {p.status_code for p in pages} == {404}
    assert len({main_of(p) for p in pages}) == 1
    assert "Ask for a new invitation link" in main_of(pages[0])
    assert "/invite/" not in main_of(pages[0]), "the form posts back to the link itself"


def test_por9_hostile_input_is_answered_without_a_500_and_sends_nothing(invite, ask):
    portal_user, link = invite()
    expire(portal_user)
    for email in ("a" * 10_000 + "@example.jp", "yuki@example.jp\r\nBcc: evil@example.net", ""):
        response = ask(link, email)
        assert response.status_code == 400
        assert "Ask for a new invitation link" in response.content.decode()
    assert ask(f"/invite/{'x' * 5000}/", "yuki@example.jp").status_code == 200
    assert mail.outbox == []


def test_por9_requests_are_rate_limited_per_address(invite, ask):
    portal_user, link = invite()
    expire(portal_user)
    for _ in range(5):
        ask("/invite/not-a-real-token/", "yuki@example.jp")
    answer = ask(link, "yuki@example.jp")
    assert ANSWER in answer.content.decode()
    assert mail.outbox == [], "over the address's limit: nothing is sent"


def test_por9_requests_are_rate_limited_per_client_address(invite, ask):
    portal_user, link = invite()
    expire(portal_user)
    for n in range(20):
        ask("/invite/not-a-real-token/", f"visitor{n}@example.net")
    answer = ask(link, "yuki@example.jp")
    assert ANSWER in answer.content.decode()
    assert mail.outbox == [], "over the client address's limit: nothing is sent"


def test_por9_only_a_kind_that_says_so_offers_self_service_resends():
    assert InvitationKind.allows_self_service_resend is False
    assert invitation_kind("crm_user").allows_self_service_resend is False
    assert invitation_kind("portal_user").allows_self_service_resend is True
