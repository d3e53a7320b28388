"""The idle session timeout (X-3; issue 11): after the org's number of minutes without a
request a member is signed out and told why; not before; never when the org has none. Time
moves by replacing the middleware's clock, never by sleeping."""

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.utils import translation

from tests.conftest import client_for
from users import middleware
from users.models import Organization


class Clock:
    def __init__(self, start: float = 1_800_000_000.0):
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, *, minutes: float) -> None:
        self.value += minutes * 60


@pytest.fixture
def clock(monkeypatch):
    frozen = Clock()
    monkeypatch.setattr(middleware, "now", frozen)
    return frozen


def set_timeout(org, minutes):
    Organization.objects.filter(pk=org.pk).update(idle_timeout_minutes=minutes)


def dashboard(client, org):
    return client.get(f"/o/{org.slug}/")


def test_x3_signed_out_after_n_minutes_without_activity(clock, org_a, member_a):
    set_timeout(org_a, 15)
    client = client_for(member_a)
    assert dashboard(client, org_a).status_code == 200
    clock.advance(minutes=15.1)
    response = dashboard(client, org_a)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/o/{org_a.slug}/"
    sign_in = client.get(response["Location"]).content.decode()
    assert "You were signed out after 15 minutes without activity." in sign_in
    # Signed out for good: the next request asks to sign in again, with no message.
    again = dashboard(client, org_a)
    assert again.status_code == 302 and again["Location"].startswith("/accounts/login/")


def test_x3_each_request_restarts_the_count(clock, org_a, member_a):
    set_timeout(org_a, 15)
    client = client_for(member_a)
    for _ in range(4):  # an hour in all, never 15 minutes apart
        assert dashboard(client, org_a).status_code == 200
        clock.advance(minutes=14.9)
    assert dashboard(client, org_a).status_code == 200


def test_x3_exactly_n_minutes_is_not_yet_idle(clock, org_a, member_a):
    set_timeout(org_a, 5)
    client = client_for(member_a)
    dashboard(client, org_a)
    clock.advance(minutes=5)
    assert dashboard(client, org_a).status_code == 200


def test_x3_off_when_the_org_has_no_timeout(clock, org_a, member_a):
    client = client_for(member_a)
    dashboard(client, org_a)
    clock.advance(minutes=60 * 24 * 30)
    assert dashboard(client, org_a).status_code == 200


def test_x3_applies_outside_the_org_pages_with_the_members_org(clock, org_a, member_a):
    """The account pages (/accounts/...) follow the timeout of the org one is a member of."""
    set_timeout(org_a, 10)
    client = client_for(member_a)
    assert client.get("/accounts/email/").status_code == 200
    clock.advance(minutes=11)
    response = client.get("/accounts/email/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_x3_a_past_activity_stored_in_the_session_signs_out(org_a, member_a):
    """Without touching the clock: a session whose last request was long ago."""
    set_timeout(org_a, 30)
    client = client_for(member_a)
    session = client.session
    session[middleware.LAST_ACTIVITY_KEY] = middleware.now() - 31 * 60
    session.save()
    assert dashboard(client, org_a).status_code == 302


def test_x3_htmx_request_is_sent_to_sign_in_by_htmx(clock, org_a, member_a):
    set_timeout(org_a, 5)
    client = client_for(member_a)
    dashboard(client, org_a)
    clock.advance(minutes=6)
    response = client.get(f"/o/{org_a.slug}/contacts/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_x3_message_in_the_members_language_with_its_plural(clock, org_a, member_a):
    """X-1: ngettext; one minute is singular in English."""
    member_a.user.language = "en"
    member_a.user.save()
    Organization.objects.filter(pk=org_a.pk).update(idle_timeout_minutes=1)
    client = client_for(member_a)
    dashboard(client, org_a)
    clock.advance(minutes=2)
    response = client.get(dashboard(client, org_a)["Location"])
    assert "You were signed out after 1 minute without activity." in response.content.decode()


def test_x3_message_in_japanese(clock, org_a, member_a):
    """X-1: a member whose language is Japanese is told in Japanese."""
    member_a.user.language = "ja"
    member_a.user.save()
    set_timeout(org_a, 20)
    client = client_for(member_a)
    dashboard(client, org_a)
    clock.advance(minutes=21)
    response = client.get(dashboard(client, org_a)["Location"])
    assert "20 分間操作がなかったため、ログアウトしました。" in response.content.decode()


def test_x3_the_hook_takes_the_org_so_portals_can_apply_it(clock, rf, org_a, member_a):
    """The portal site calls idle_timeout_check with the portal's org (X-3: portal users of
    the org's portals are signed out too)."""
    set_timeout(org_a, 5)
    request = rf.get("/portal/anything/")
    request.session, request.user = SessionStore(), member_a.user
    request._messages = FallbackStorage(request)
    org = Organization.objects.get(pk=org_a.pk)
    assert middleware.idle_timeout_check(request, org) is None
    clock.advance(minutes=6)
    with translation.override("en"):
        response = middleware.idle_timeout_check(request, org)
    assert response.status_code == 302
    assert not request.user.is_authenticated


def test_x3_anonymous_visitors_are_untouched(clock, org_a):
    set_timeout(org_a, 5)
    assert Client().get("/accounts/login/").status_code == 200
