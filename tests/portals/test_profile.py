"""A portal user's own profile (POR-7, X-2; issue 12 Deliver 4): language, password change,
two-factor with allauth's TOTP and recovery codes, "Forgot your password?" from the portal,
and the admin's "Reset two-factor" of a portal user (audited)."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from django.test import Client
from django_scopes import scopes_disabled

from portals.models import PortalUser
from tests.conftest import client_for
from tests.portals.factories import PortalFactory, PortalUserFactory, UserGroupFactory
from tests.portals.site_world import PASSWORD, make_world
from tests.records.factories import ContactFactory
from tests.users.factories import UserFactory
from users.audit import audit_sentence
from users.models import AuditLogEntry

NEW_PASSWORD = "Harbour-lantern-2026!"


@pytest.fixture
def world(org_a):
    return make_world(org=org_a)


def text(response) -> str:
    return response.content.decode()


def totp_code(secret: str) -> str:
    """The code an authenticator app shows now (RFC 6238, allauth's own HOTP helper)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def sign_in(world, password=PASSWORD) -> tuple[Client, object]:
    client = Client()
    data = {"login": world.portal_user.user.email, "password": password}
    return client, client.post(world.url("sign-in/"), data)


def stored(portal_user) -> PortalUser:
    with scopes_disabled():
        return PortalUser.objects.get(pk=portal_user.pk)


def set_up_totp(world, client) -> str:
    page = text(client.get(world.url("profile/two-factor/")))
    assert "<svg" in page, "the QR code is drawn inline, server-side"
    secret = re.search(r'id="mfa-secret">([A-Z2-7=]+)<', page).group(1)
    response = client.post(world.url("profile/two-factor/"), {"code": totp_code(secret)})
    assert response.status_code == 200
    assert 'id="recovery-codes"' in text(response)
    return secret


# --- language (POR-7) -----------------------------------------------------------------------


def test_por7_language_is_saved_on_the_portal_user_and_used(world):
    client = world.client()
    page = text(client.get(world.url("profile/")))
    assert "Your profile" in page and world.portal.name in page
    response = client.post(world.url("profile/"), {"language": "ja"})
    assert response.status_code == 302
    assert stored(world.portal_user).language == "ja"
    page = text(client.get(world.url("profile/")))
    assert '<html lang="ja">' in page
    assert "ログアウト" in page and "Sign out" not in page


def test_por7_a_language_the_portal_does_not_offer_is_refused(world):
    client = world.client()
    response = client.post(world.url("profile/"), {"language": "fr"})
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert stored(world.portal_user).language == "en"


# --- password (X-2) -------------------------------------------------------------------------


def test_x2_password_change_needs_the_current_password(world):
    client = world.client()
    data = {"oldpassword": "not-my-password", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = client.post(world.url("profile/password/"), data)
    assert response.status_code == 200
    assert "Please type your current password." in text(response)
    assert sign_in(world)[1].status_code == 302, "the old password still works"


def test_x2_password_change_uses_allauths_rules(world):
    client = world.client()
    data = {"oldpassword": PASSWORD, "password1": "12345678", "password2": "12345678"}
    response = client.post(world.url("profile/password/"), data)
    assert response.status_code == 200
    assert "This password is too common." in text(response)


def test_x2_changed_password_signs_in_and_the_old_one_no_longer_does(world):
    client = world.client()
    other_session = world.client()
    assert other_session.get(world.url()).status_code == 200
    data = {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = client.post(world.url("profile/password/"), data)
    assert response["Location"] == world.url("profile/")
    assert client.get(world.url()).status_code == 200, "this session stays signed in"
    assert other_session.get(world.url()).status_code == 302, "the other session is signed out"
    _client, refused = sign_in(world, PASSWORD)
    assert refused.status_code == 200
    assert "not correct" in text(refused)
    _client, accepted = sign_in(world, NEW_PASSWORD)
    assert accepted.status_code == 302


# --- two-factor (X-2) -----------------------------------------------------------------------


def test_x2_totp_set_up_with_a_code_then_sign_in_requires_the_code(world):
    client = world.client()
    wrong = client.post(world.url("profile/two-factor/"), {"code": "000000"})
    assert wrong.status_code == 200
    assert "Incorrect code." in text(wrong)
    secret = set_up_totp(world, client)
    with scopes_disabled():
        kinds = set(
            Authenticator.objects.filter(user=world.portal_user.user).values_list("type", flat=True)
        )
    assert kinds == {"totp", "recovery_codes"}
    assert "Two-factor authentication is on." in text(client.get(world.url("profile/")))

    visitor, response = sign_in(world)
    assert response["Location"] == world.url("sign-in/two-factor/")
    assert visitor.get(world.url()).status_code == 302, "not signed in without the code"
    stage_page = text(visitor.get(world.url("sign-in/two-factor/")))
    assert world.portal.name in stage_page and "portal-site" in stage_page, "the portal's brand"
    wrong = visitor.post(world.url("sign-in/two-factor/"), {"code": "000000"})
    assert wrong.status_code == 200 and "Incorrect code." in text(wrong)
    response = visitor.post(world.url("sign-in/two-factor/"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert visitor.get(world.url()).status_code == 200


def test_x2_recovery_codes_are_shown_regenerated_and_sign_in(world):
    client = world.client()
    set_up_totp(world, client)
    page = text(client.get(world.url("profile/two-factor/recovery-codes/")))
    old_codes = re.findall(r"<li><code>(\w+)</code></li>", page)
    assert len(old_codes) >= 8
    refused = client.post(world.url("profile/two-factor/recovery-codes/"), {"password": "nope"})
    assert "Enter your current password or a valid code." in text(refused)
    response = client.post(world.url("profile/two-factor/recovery-codes/"), {"password": PASSWORD})
    new_codes = re.findall(r"<li><code>(\w+)</code></li>", text(response))
    assert new_codes and not set(new_codes) & set(old_codes)

    visitor, _response = sign_in(world)
    old = visitor.post(world.url("sign-in/two-factor/"), {"code": old_codes[0]})
    assert old.status_code == 200, "an old recovery code no longer works"
    response = visitor.post(world.url("sign-in/two-factor/"), {"code": new_codes[0]})
    assert response.status_code == 302
    assert visitor.get(world.url()).status_code == 200


def test_x2_two_factor_off_needs_the_password_or_a_code(world):
    client = world.client()
    set_up_totp(world, client)
    refused = client.post(world.url("profile/two-factor/off/"), {"password": "nope", "code": "1"})
    assert refused.status_code == 200
    assert "Enter your current password or a valid code." in text(refused)
    response = client.post(world.url("profile/two-factor/off/"), {"password": PASSWORD})
    assert response["Location"] == world.url("profile/")
    with scopes_disabled():
        assert not Authenticator.objects.filter(user=world.portal_user.user).exists()
    assert sign_in(world)[1]["Location"] == world.url(), "the password alone signs in again"


def test_x2_guessing_the_password_to_turn_two_factor_off_is_rate_limited(world):
    client = world.client()
    set_up_totp(world, client)
    for _attempt in range(10):
        client.post(world.url("profile/two-factor/off/"), {"password": "guess"})
    response = client.post(world.url("profile/two-factor/off/"), {"password": PASSWORD})
    assert "Too many attempts. Try again in a minute." in text(response)
    with scopes_disabled():
        assert Authenticator.objects.filter(user=world.portal_user.user).exists()


# --- forgot password (X-2) ------------------------------------------------------------------


def _without_tokens(page: str) -> str:
    tokens = r'"csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"|nonce="[^"]+"'
    return re.sub(tokens, "", page)


def test_x2_forgot_password_page_is_the_same_for_a_known_and_an_unknown_address(
    world, django_capture_on_commit_callbacks
):
    page = text(Client().get(world.url("sign-in/")))
    assert world.url("password-reset/") in page
    mail.outbox.clear()
    answers = []
    for address in (world.portal_user.user.email, "nobody-here@example.com"):
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post(world.url("password-reset/"), {"email": address})
        assert response.status_code == 200
        answers.append(_without_tokens(text(response)))
    assert answers[0] == answers[1]
    assert world.portal.name in answers[0]
    known = [m for m in mail.outbox if m.to == [world.portal_user.user.email]]
    link = re.search(r"https?://[^/\s]+(/portal/[^\s]+/password-reset/key/[^\s]+/)", known[0].body)
    assert link, "the mailed link leads to the portal's own page"

    client = Client()
    page = client.get(link.group(1))
    assert "Choose a new password" in text(page)
    data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = client.post(link.group(1), data)
    assert response["Location"] == world.url("sign-in/")
    assert sign_in(world, NEW_PASSWORD)[1].status_code == 302


def test_x2_a_broken_reset_link_says_so_in_the_portal(world):
    response = Client().get(world.url("password-reset/key/zz-nope/"))
    assert response.status_code == 200
    assert "This link is no longer valid." in text(response)
    assert world.portal.name in text(response)


# --- the admin's "Reset two-factor" (X-2) ---------------------------------------------------


def reset_url(world) -> str:
    org = world.portal.org.slug
    return f"/o/{org}/portals/{world.portal.pk}/users/{world.portal_user.pk}/reset-two-factor/"


def test_x2_admin_reset_removes_the_authenticators_and_is_audited(world, client_admin_a):
    set_up_totp(world, world.client())
    users_tab = text(client_admin_a.get(f"/o/alpha/portals/{world.portal.pk}/users/"))
    assert reset_url(world) in users_tab
    confirm = client_admin_a.get(reset_url(world))
    assert "sign in to the portal with their password alone" in text(confirm)
    response = client_admin_a.post(reset_url(world))
    assert response.status_code == 302
    with scopes_disabled():
        assert not Authenticator.objects.filter(user=world.portal_user.user).exists()
        entry = AuditLogEntry.objects.get(action="portal_user.mfa_reset")
    assert audit_sentence(entry.action, entry.details) == (
        f"Two-factor authentication of {world.portal_user.email} was reset for the portal "
        f"{world.portal.name}."
    )
    assert sign_in(world)[1]["Location"] == world.url(), "the password alone signs in"


def test_x2_reset_needs_manage_portal_users(world, client_member_a):
    assert client_member_a.get(reset_url(world)).status_code == 403
    assert client_member_a.post(reset_url(world)).status_code == 403


def test_x2_reset_of_another_orgs_portal_user_is_404(world, client_admin_b):
    url = reset_url(world).replace("/o/alpha/", "/o/beta/")
    assert client_admin_b.get(url).status_code == 404
    assert client_admin_b.post(url).status_code == 404


def test_x2_reset_of_a_user_of_another_portal_is_404(world, admin_a):
    with scopes_disabled():
        group = UserGroupFactory(portal=PortalFactory(org=world.portal.org, slug="other"))
        contact = ContactFactory(org=world.portal.org)
        account = UserFactory(email=contact.email)
        other = PortalUserFactory(group=group, contact=contact, user=account)
    url = reset_url(world).replace(f"/users/{world.portal_user.pk}/", f"/users/{other.pk}/")
    assert client_for(admin_a).post(url).status_code == 404


def test_por7_x1_profile_pages_in_japanese_have_no_english_ui_words(world):
    with scopes_disabled():
        PortalUser.objects.filter(pk=world.portal_user.pk).update(language="ja")
    client = world.client()
    english = [
        "Your profile",
        "Save",
        "Password",
        "Change your password",
        "Change password",
        "Current password",
        "Set up two-factor authentication",
        "Two-factor authentication",
        "Authenticator code",
        "Turn on",
        "Turn off",
        "Cancel",
        "Recovery codes",
        "Make new codes",
        "Back to your profile",
        "Forgot your password?",
        "Send the link",
        "Back to sign-in",
        "Choose a new password",
    ]

    def check(tails, visitor):
        for tail in tails:
            page = text(visitor.get(world.url(tail)))
            assert '<html lang="ja">' in page, tail
            assert not [word for word in english if f">{word}" in page], tail

    check(["profile/", "profile/password/", "profile/two-factor/"], client)
    set_up_totp(world, client)
    tails = ["profile/two-factor/", "profile/two-factor/recovery-codes/", "profile/two-factor/off/"]
    check(tails, client)
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="ja")
    check(["password-reset/", "password-reset/key/zz-nope/"], anonymous)
