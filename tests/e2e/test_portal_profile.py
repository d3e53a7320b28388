"""A portal user's own profile in Chromium (POR-7, X-2, X-1; issue 12 Deliver 4): they choose
Japanese on their profile and see the portal in Japanese; they set up two-factor with a code
computed from the key the page shows, get recovery codes, and the next sign-in asks for a
code on the portal's own page."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from portals.models import PortalUser
from tests.portals.site_world import PASSWORD, make_world

pytestmark = pytest.mark.browser


@pytest.fixture
def world(db):
    return make_world()


def portal_sign_in(page, live_server, world):
    page.goto(f"{live_server.url}{world.url('sign-in/')}")
    page.locator("#id_login").fill(world.portal_user.user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit].primary").click()
    expect(page).to_have_url(f"{live_server.url}{world.url()}")
    page.wait_for_load_state("load")


def test_por7_x1_portal_user_chooses_japanese_on_their_profile(page, live_server, world):
    portal_sign_in(page, live_server, world)
    page.locator("#portal-profile").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    page.locator("#profile-language").get_by_label("Language").select_option("ja")
    page.locator("#profile-language button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", name="プロフィール")).to_be_visible()
    expect(page.locator("#portal-sign-out")).to_have_text("ログアウト")
    with scopes_disabled():
        assert PortalUser.objects.get(pk=world.portal_user.pk).language == "ja"
    page.locator(".portal-brand").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator(".portal-nav")).to_contain_text("ホーム")


def test_x2_portal_user_sets_up_two_factor_with_the_displayed_key(page, live_server, world):
    portal_sign_in(page, live_server, world)
    page.locator("#portal-profile").click()
    page.locator("#profile-mfa-setup").click()
    expect(page.locator("#mfa-qr svg")).to_be_visible()
    secret = page.locator("#mfa-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7=]+", secret)
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    page.get_by_label("Authenticator code").fill(code)
    page.locator("#mfa-activate").click()
    expect(page.locator("#recovery-codes li")).not_to_have_count(0)
    with scopes_disabled():
        assert Authenticator.objects.filter(
            user=world.portal_user.user, type=Authenticator.Type.TOTP
        ).exists()
    page.locator("#back-to-profile").click()
    expect(page.locator("#profile-mfa-state")).to_have_text("Two-factor authentication is on.")

    # Signing in again asks for a code on the portal's own page.
    page.locator("#portal-sign-out").click()
    page.locator("#id_login").fill(world.portal_user.user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit].primary").click()
    expect(page).to_have_url(f"{live_server.url}{world.url('sign-in/two-factor/')}")
    expect(page.locator("#portal-name")).to_have_text("Acme Help Centre")
    page.get_by_label("Code").fill(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
    page.locator("#mfa-sign-in").click()
    expect(page).to_have_url(f"{live_server.url}{world.url()}")
