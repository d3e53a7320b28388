"""Portal invitations end to end through the generic invitation core (POR-3, POR-4; DESIGN:
Invitations): the real mail outbox, the contact's language, sign-up with the address fixed,
Active and landing on the portal; another account cannot accept; a re-invite kills the old
link; a disabled portal or portal user shows why."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django_scopes import scope, scopes_disabled

from invitations.kinds import invitation_kind
from portals.invitations import PortalUserInvitations
from portals.members import portal_user_invite, portal_users_disable, portal_users_reinvite
from portals.models import Portal, PortalUser
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.records.factories import ContactFactory
from tests.users.factories import UserFactory
from users.models import AuditLogEntry, CrmUser, Organization

LINK = re.compile(r"https?://[^/\s]+(/invite/[^/\s]+/)")


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
    """Invite a contact to the portal; returns (portal user, link path, the mail)."""

    def make(email="yuki@example.jp", language="ja"):
        with scopes_disabled():
            contact = ContactFactory(
                org=portal.org,
                first_name="Yuki",
                last_name="Tanaka",
                email=email,
                language=language,
            )
        mail.outbox.clear()
        with scope(org=portal.org), django_capture_on_commit_callbacks(execute=True):
            portal_user = portal_user_invite(
                actor=admin_a, portal=portal, contact=contact, group=group
            )
        [message] = mail.outbox
        return portal_user, LINK.search(message.body).group(1), message

    return make


def stored(portal_user):
    with scopes_disabled():
        return PortalUser.objects.get(pk=portal_user.pk)


def test_por3_portal_user_is_a_registered_invitation_kind():
    assert isinstance(invitation_kind("portal_user"), PortalUserInvitations)


def test_por3_the_mail_is_in_the_contacts_language_and_names_the_portal(invite):
    _portal_user, link, message = invite(language="ja")
    assert message.to == ["yuki@example.jp"]
    assert "Help centre" in message.subject and "Help centre" in message.body
    # The portal's "Accept invitation" email (POR-6): its Japanese default text.
    assert "招待を承諾する: " in message.body and link in message.body
    assert message.subject == "Help centre への招待"
    html = message.alternatives[0][0]
    assert link in html


def test_por3_a_language_the_portal_lacks_gives_the_portals_default(invite):
    portal_user, _link, message = invite(language="fr")
    assert stored(portal_user).language == "en"
    assert "Accept the invitation: " in message.body  # POR-6's English default text


def test_por3_por4_new_person_signs_up_with_the_address_fixed_and_lands_on_the_portal(
    invite, client, portal
):
    portal_user, link, _message = invite()
    token = link.split("/")[2]
    client.get(link)
    assert client.post(f"/invite/{token}/signup/")["Location"] == "/accounts/signup/"
    form = client.get("/accounts/signup/").content.decode()
    assert 'value="yuki@example.jp"' in form and "readonly" in form
    signup = client.post(
        "/accounts/signup/",
        {
            "email": "yuki@example.jp",
            "first_name": "Yuki",
            "last_name": "Tanaka",
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
        follow=True,
    )
    assert signup.redirect_chain[-1][0] == "/invite/continue/"
    assert "Join Help centre" in signup.content.decode()
    assert EmailAddress.objects.get(email="yuki@example.jp").verified
    assert stored(portal_user).status == PortalUser.Status.INVITED, "accepting is a POST"

    accepted = client.post(f"{link}accept/")
    assert accepted["Location"] == f"/portal/{portal.slug}/"
    portal_user = stored(portal_user)
    assert portal_user.status == PortalUser.Status.ACTIVE
    assert portal_user.user.email == "yuki@example.jp"
    with scopes_disabled():
        assert not CrmUser.objects.filter(user=portal_user.user).exists(), "not a CRM user"
        assert Organization.objects.count() == 1, "no organisation of their own"
        assert AuditLogEntry.objects.filter(action="portal_user.accepted").exists()


def test_por3_another_account_cannot_accept(invite):
    portal_user, link, _message = invite()
    intruder = Client()
    intruder.force_login(UserFactory(email="mallory@example.net"))
    assert "This invitation is for another address" in intruder.get(link).content.decode()
    refused = intruder.post(f"{link}accept/", follow=True).content.decode()
    assert "Sign in with that address to accept it." in refused
    assert stored(portal_user).status == PortalUser.Status.INVITED
    assert stored(portal_user).user is None


def test_por8_a_reinvite_kills_the_old_link(
    invite, admin_a, portal, django_capture_on_commit_callbacks
):
    portal_user, old_link, _message = invite()
    mail.outbox.clear()
    with scope(org=portal.org), django_capture_on_commit_callbacks(execute=True):
        portal_users_reinvite(actor=admin_a, portal=portal, portal_users=[portal_user])
    [message] = mail.outbox
    new_link = LINK.search(message.body).group(1)
    assert new_link != old_link
    person = Client()
    person.force_login(UserFactory(email="yuki@example.jp"))
    assert person.get(old_link).status_code == 404
    assert person.post(f"{old_link}accept/").status_code == 404
    assert stored(portal_user).status == PortalUser.Status.INVITED
    person.post(f"{new_link}accept/")
    assert stored(portal_user).status == PortalUser.Status.ACTIVE


def test_por8_a_disabled_portal_user_sees_why_and_cannot_accept(invite, admin_a, portal):
    portal_user, link, _message = invite()
    with scope(org=portal.org):
        portal_users_disable(actor=admin_a, portal=portal, portal_users=[portal_user])
    person = Client()
    person.force_login(UserFactory(email="yuki@example.jp"))
    page = person.get(link).content.decode()
    assert "Your access to the portal Help centre was disabled." in page
    refused = person.post(f"{link}accept/", follow=True).content.decode()
    assert "was disabled" in refused
    assert stored(portal_user).status == PortalUser.Status.DISABLED


def test_por1_a_disabled_portal_is_an_obstacle_with_a_clear_sentence(invite, portal):
    portal_user, link, _message = invite()
    with scopes_disabled():
        Portal.objects.filter(pk=portal.pk).update(is_enabled=False)
    person = Client()
    person.force_login(UserFactory(email="yuki@example.jp"))
    page = person.get(link).content.decode()
    assert "The portal Help centre is turned off for now." in page
    person.post(f"{link}accept/")
    assert stored(portal_user).status == PortalUser.Status.INVITED
