"""Following an invitation (USR-4, ORG-4; DESIGN: Invitations): hashed single-use tokens,
7 days, only a POST by the invited, verified address accepts, uniform error page."""

import hashlib
import re
import threading
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from invitations.crm_users import crm_user_add_and_invite, crm_users_reinvite
from invitations.models import Invitation
from tests.conftest import client_for
from tests.users.factories import (
    PASSWORD,
    CrmUserFactory,
    OrganizationFactory,
    UserFactory,
    builtin_profile,
    role_named,
)
from users.models import CrmUser, Organization, Profile


@pytest.fixture
def invite(org_a, admin_a, django_capture_on_commit_callbacks):
    """Invite kenji@example.jp to org A; returns (membership, link path)."""

    def make(email="kenji@example.jp"):
        mail.outbox.clear()
        with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
            membership = crm_user_add_and_invite(
                org=org_a,
                actor=admin_a,
                first_name="Kenji",
                last_name="Sato",
                email=email,
                role=role_named(org_a, "Manager"),
                profile=builtin_profile(org_a, "standard"),
            )
        [message] = mail.outbox
        return membership, re.search(r"https?://[^/\s]+(/invite/[^/\s]+/)", message.body).group(1)

    return make


# The invalid page's "ask for a new link" form (POR-9) carries a per-response CSRF token.
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def status_of(membership):
    with scopes_disabled():
        return CrmUser.objects.get(pk=membership.pk).status


def test_usr4_token_is_stored_only_as_a_hash_and_the_link_names_nobody(invite, org_a):
    membership, link = invite()
    token = link.split("/")[2]
    with scopes_disabled():
        invitation = Invitation.objects.get(crm_user=membership)
        stored = " ".join(str(v) for v in Invitation.objects.values_list().get(pk=invitation.pk))
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored
    assert "kenji" not in link
    assert str(org_a.pk) not in link.split("/"), "no path segment names the organisation"
    assert invitation.expires_at - invitation.last_sent_at == timedelta(days=7)


def test_usr4_opening_the_link_accepts_nothing(invite, client):
    """A mail scanner prefetching the link must not accept."""
    membership, link = invite()
    assert client.get(link).status_code == 200
    account = UserFactory(email="kenji@example.jp")
    signed_in = client_for_account(account)
    assert "Join Alpha Corp" in signed_in.get(link).content.decode()
    assert status_of(membership) == "unconfirmed"


def client_for_account(account):
    client = Client()
    client.force_login(account)
    return client


def test_usr4_new_person_signs_up_with_the_invited_email_fixed_and_joins(invite, client, org_a):
    membership, link = invite()
    token = link.split("/")[2]
    welcome = client.get(link).content.decode()
    assert "Create an account" in welcome
    response = client.post(f"/invite/{token}/signup/")
    assert response["Location"] == "/accounts/signup/"
    form = client.get("/accounts/signup/").content.decode()
    assert 'value="kenji@example.jp"' in form and "readonly" in form
    assert "organization_name" not in form, "no new organisation for an invited person"

    tampered = client.post(
        "/accounts/signup/",
        {
            "email": "someone-else@example.jp",
            "last_name": "Sato",
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
    )
    assert "This invitation is for kenji@example.jp." in tampered.content.decode()

    signup = client.post(
        "/accounts/signup/",
        {
            "email": "kenji@example.jp",
            "first_name": "Kenji",
            "last_name": "Sato",
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
        follow=True,
    )
    assert signup.redirect_chain[-1][0] == "/invite/continue/"
    assert EmailAddress.objects.get(email="kenji@example.jp").verified, "the link proved it"
    assert status_of(membership) == "unconfirmed", "not yet: accepting is a deliberate POST"
    assert Organization.objects.count() == 1

    joined = client.post(f"/invite/{token}/accept/", follow=True)
    assert joined.redirect_chain[-1][0] == f"/o/{org_a.slug}/"
    assert "Welcome to Alpha Corp!" in joined.content.decode()
    assert status_of(membership) == "active"


def test_usr4_existing_account_signs_in_and_joins(invite, client, org_a):
    membership, link = invite()
    UserFactory(email="kenji@example.jp")
    client.get(link)
    login = client.post(
        "/accounts/login/?next=/invite/continue/",
        {"login": "kenji@example.jp", "password": PASSWORD},
        follow=True,
    )
    assert login.redirect_chain[-1][0] == "/invite/continue/"
    assert "Join Alpha Corp" in login.content.decode()
    client.post(f"{link}accept/")
    assert status_of(membership) == "active"
    with scopes_disabled():
        assert CrmUser.objects.get(pk=membership.pk).user.email == "kenji@example.jp"


def test_usr4_another_account_cannot_accept(invite, org_a):
    membership, link = invite()
    intruder = client_for_account(UserFactory(email="mallory@example.net"))
    page = intruder.get(link).content.decode()
    assert "This invitation is for another address" in page
    response = intruder.post(f"{link}accept/", follow=True)
    assert "Sign in with that address to accept it." in response.content.decode()
    assert status_of(membership) == "unconfirmed"


def test_usr4_unverified_email_cannot_accept(invite):
    membership, link = invite()
    account = UserFactory(email="kenji@example.jp", verified=False)
    EmailAddress.objects.create(user=account, email="kenji@example.jp", verified=False)
    client_for_account(account).post(f"{link}accept/")
    assert status_of(membership) == "unconfirmed"


def test_usr4_unknown_expired_used_and_replaced_links_look_the_same(invite, client, org_a, admin_a):
    membership, link = invite()
    responses = {"unknown": client.get("/invite/not-a-real-token/")}

    with scopes_disabled():
        Invitation.objects.filter(crm_user=membership).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    responses["expired"] = client.get(link)

    membership2, link2 = invite(email="other@example.jp")
    account = UserFactory(email="other@example.jp")
    client_for_account(account).post(f"{link2}accept/")
    responses["used"] = client.get(link2)

    with scopes_disabled():
        Invitation.objects.filter(crm_user=membership).update(
            expires_at=timezone.now() + timedelta(days=1)
        )
    with scope(org=org_a):
        crm_users_reinvite(org=org_a, actor=admin_a, memberships=[membership])
    responses["replaced"] = client.get(link)

    bodies = {name: r.content.decode() for name, r in responses.items()}
    assert {r.status_code for r in responses.values()} == {404}
    assert all("This invitation link is not valid" in b for b in bodies.values())
    mains = {
        CSRF.sub("", b[b.index('<main id="main">') : b.index("</main>")]) for b in bodies.values()
    }
    assert len(mains) == 1, "no oracle: the same page for every case (its CSRF token aside)"


def test_usr4_expired_link_cannot_be_accepted(invite):
    membership, link = invite()
    with scopes_disabled():
        Invitation.objects.filter(crm_user=membership).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    account = UserFactory(email="kenji@example.jp")
    client_for_account(account).post(f"{link}accept/")
    assert status_of(membership) == "unconfirmed"


@pytest.mark.django_db(transaction=True)
def test_usr4_two_accepts_at_the_same_moment_make_exactly_one_membership(
    org_a, admin_a, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with scope(org=org_a):
        membership = crm_user_add_and_invite(
            org=org_a,
            actor=admin_a,
            first_name="Kenji",
            last_name="Sato",
            email="kenji@example.jp",
            role=role_named(org_a, "Manager"),
            profile=builtin_profile(org_a, "standard"),
        )
    link = re.search(r"(/invite/[^/\s]+/)", mail.outbox[0].body).group(1)
    account = UserFactory(email="kenji@example.jp")
    clients = [client_for_account(account), client_for_account(account)]
    barrier, results = threading.Barrier(2), []

    def accept(client):
        barrier.wait()
        results.append(client.post(f"{link}accept/").status_code)
        connection.close()

    threads = [threading.Thread(target=accept, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with scopes_disabled():
        assert CrmUser.objects.filter(user=account, status="active").count() == 1
        invitation = Invitation.objects.get(crm_user=membership)
    assert invitation.status == "accepted" and invitation.token_hash is None
    assert sorted(results) == [302, 404], "one joins, the other sees a used link"


@pytest.fixture
def person_in_org_b(org_b, admin_b):
    """kenji@example.jp: an active Standard user of org B."""
    with scopes_disabled():
        return CrmUserFactory(org=org_b, user=UserFactory(email="kenji@example.jp"))


def test_org4_active_in_another_org_is_refused_with_the_way_out(invite, person_in_org_b, org_a):
    membership, link = invite()
    client = client_for(person_in_org_b)
    page = client.get(link).content.decode()
    assert "you are an active user of <strong>Beta Ltd</strong>" in page
    assert "Leave Beta Ltd" in page
    client.post(f"{link}accept/")
    assert status_of(membership) == "unconfirmed"

    left = client.post("/o/beta/leave/", follow=True)
    assert left.redirect_chain[-1][0] == "/invite/continue/"
    assert "You left Beta Ltd." in left.content.decode()
    client.post(f"{link}accept/")
    assert status_of(membership) == "active"


def test_org4_super_admin_of_another_org_must_transfer_first(invite, org_b, admin_b, org_a):
    membership, link = invite(email=admin_b.email)
    with scopes_disabled():
        CrmUserFactory(org=org_b, profile=builtin_profile(org_b, Profile.ADMINISTRATOR))
    client = client_for(admin_b)
    page = client.get(link).content.decode()
    assert "Transfer that role to another administrator" in page
    refused = client.post("/o/beta/leave/", follow=True)
    assert "Transfer the super admin role" in refused.content.decode()


def test_org4_only_user_deletes_their_org_after_an_emailed_export(
    invite, org_a, django_capture_on_commit_callbacks
):
    solo_org = OrganizationFactory(name="Solo KK", slug="solo")
    with scopes_disabled():
        solo = CrmUserFactory(
            org=solo_org, is_super_admin=True, user=UserFactory(email="kenji@example.jp")
        )
    membership, link = invite()
    client = client_for(solo)
    page = client.get(link).content.decode()
    assert "You are the only active user of Solo KK" in page
    wrong = client.post("/o/solo/delete/", {"confirm_name": "solo"})
    assert "Type the organisation&#x27;s name exactly" in wrong.content.decode()
    assert Organization.objects.filter(slug="solo").exists()

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/o/solo/delete/", {"confirm_name": "Solo KK"}, follow=True)
    assert "Solo KK was deleted." in done.content.decode()
    assert not Organization.objects.filter(slug="solo").exists()
    [export] = mail.outbox
    assert export.to == ["kenji@example.jp"]
    ((name, content, mimetype),) = export.attachments
    assert name == "solo-export.json" and b'"Solo KK"' in content

    client.post(f"{link}accept/")
    assert status_of(membership) == "active"
