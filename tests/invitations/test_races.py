"""Races between real concurrent requests against a live server on PostgreSQL (X-6, USR-7,
ORG-4; DESIGN: Invitations — one lock order: the membership row first, then its invitation).
Each race runs 20 rounds: no answer is a 500, the final state is right, and a deactivated
member is signed out in every round."""

import secrets
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from invitations.models import Invitation
from invitations.services import token_hash
from tests.users.factories import CrmUserFactory, OrganizationFactory, UserFactory
from users.models import CrmUser

ROUNDS = 20


class Browser:
    """A signed-in person speaking HTTP to the live server: their session cookie, a CSRF
    cookie and the matching header, redirects not followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base_url: str, account):
        client = Client()
        client.force_login(account)
        self.base_url = base_url
        self.csrf = secrets.token_hex(16)  # 32 characters: an unmasked CSRF secret
        self.cookies = {
            settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value,
            settings.CSRF_COOKIE_NAME: self.csrf,
        }
        self.opener = urllib.request.build_opener(self._NoRedirect)

    def request(self, method: str, path: str) -> int:
        request = urllib.request.Request(
            self.base_url + path,
            data=b"" if method == "POST" else None,
            method=method,
            headers={
                "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                "X-CSRFToken": self.csrf,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def signed_in(self) -> bool:
        """A page that needs a signed-in person answers, rather than sending to sign in."""
        return self.request("GET", "/accounts/email/") == 200


def at_once(*calls) -> list:
    """Run the calls in threads released together; their results in order."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def invited(org, email: str, *, expires_in=timedelta(days=7)) -> tuple[CrmUser, str]:
    """An unconfirmed CRM user of `org` with a sent invitation; the link's token."""
    token = secrets.token_urlsafe(32)
    with scopes_disabled():
        membership = CrmUserFactory(org=org, email=email, user=None, status="unconfirmed")
        Invitation.objects.create(
            org=org,
            kind="crm_user",
            crm_user=membership,
            email=email,
            status=Invitation.Status.SENT,
            token_hash=token_hash(token),
            sent_count=1,
            last_sent_at=timezone.now(),
            expires_at=timezone.now() + expires_in,
        )
    return membership, token


@pytest.mark.django_db(transaction=True)
def test_x6_usr7_accept_racing_deactivate_never_500s_and_always_signs_out(live_server):
    """Defects 1 and 2: accepting and deactivating at the same moment deadlocked (500), and
    when the accept won, the deactivated member stayed signed in."""
    org = OrganizationFactory(name="Race Corp", slug="race")
    with scopes_disabled():
        admin = CrmUserFactory(org=org, is_super_admin=True)
    admin_browser = Browser(live_server.url, admin.user)
    outcomes = set()
    for round_ in range(ROUNDS):
        email = f"racer{round_}@example.jp"
        membership, token = invited(org, email)
        invitee = Browser(live_server.url, UserFactory(email=email))
        assert invitee.signed_in()
        accept, deactivate = at_once(
            lambda i=invitee, t=token: i.request("POST", f"/invite/{t}/accept/"),
            lambda m=membership: admin_browser.request(
                "POST", f"/o/{org.slug}/users/{m.pk}/deactivate/"
            ),
        )
        assert 500 not in (accept, deactivate), (round_, accept, deactivate)
        assert deactivate == 302
        with scopes_disabled():
            membership.refresh_from_db()
            invitation = Invitation.objects.get(crm_user=membership)
        assert membership.status == CrmUser.Status.DEACTIVATED
        assert not invitation.is_open
        if membership.user_id is not None:  # the accept came first: then deactivation signs out
            outcomes.add("accepted first")
            assert not invitee.signed_in(), f"round {round_}: a deactivated member is signed in"
        else:
            outcomes.add("deactivated first")
            assert accept == 404  # the link died with the deactivation
    assert outcomes, "the race ran"


@pytest.mark.django_db(transaction=True)
def test_x6_org4_one_account_accepting_two_orgs_at_once_joins_one(live_server):
    """Defect 3: the loser of two accepts from two orgs hit the one-active-org constraint
    (500). Now it is refused and shown the way out (ORG-4)."""
    for round_ in range(ROUNDS):
        email = f"twice{round_}@example.jp"
        orgs = [
            OrganizationFactory(slug=f"first-{round_}"),
            OrganizationFactory(slug=f"second-{round_}"),
        ]
        invitations = [invited(org, email) for org in orgs]
        person = Browser(live_server.url, UserFactory(email=email))
        answers = at_once(
            *[
                lambda t=token, p=person: p.request("POST", f"/invite/{t}/accept/")
                for _m, token in invitations
            ]
        )
        assert answers == [302, 302], (round_, answers)
        with scopes_disabled():
            active = CrmUser.objects.filter(user__email=email, status="active")
            assert active.count() == 1
        loser_token = next(t for (m, t) in invitations if m.pk != active.get().pk)
        # The loser's link is still open, and it now shows the ORG-4 page with the way out.
        assert person.request("GET", f"/invite/{loser_token}/") == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_x6_usr4_expired_unknown_used_replaced_revoked_look_the_same_on_get_and_post(
    live_server, method
):
    """Defect 4: an expired link answered POST with a redirect, the others with the invalid
    page — an oracle. All five are the same 404 page, by GET and by POST."""
    org = OrganizationFactory(slug="links")
    person = Browser(live_server.url, UserFactory(email="links@example.jp"))
    _m, expired = invited(org, "links@example.jp", expires_in=timedelta(seconds=-1))
    used_m, used = invited(org, "used@example.jp")
    replaced_m, replaced = invited(org, "replaced@example.jp")
    revoked_m, revoked = invited(org, "revoked@example.jp")
    with scopes_disabled():
        Invitation.objects.filter(crm_user=used_m).update(status="accepted", token_hash=None)
        Invitation.objects.filter(crm_user=replaced_m).update(token_hash=token_hash("newer"))
        Invitation.objects.filter(crm_user=revoked_m).update(status="revoked", token_hash=None)
    suffix = "accept/" if method == "POST" else ""
    answers = {
        name: person.request(method, f"/invite/{token}/{suffix}")
        for name, token in {
            "unknown": "no-such-token",
            "expired": expired,
            "used": used,
            "replaced": replaced,
            "revoked": revoked,
        }.items()
    }
    assert set(answers.values()) == {404}, answers
