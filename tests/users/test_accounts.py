"""Accounts (ORG-1, ORG-2, ORG-3, X-2): email sign-up opens an organisation, verification
is mandatory and verifies the org, no account enumeration, rate limits on a real cache,
TOTP two-factor with recovery codes."""

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django_scopes import scopes_disabled

from tests.users.factories import PASSWORD, UserFactory
from users.models import CrmUser, Organization, User

SIGNUP = {
    "organization_name": "Nimbus Trading",
    "first_name": "Nina",
    "last_name": "Nimbus",
    "email": "nina@nimbus.example",
    "password1": "a-long-and-unusual-passphrase",
    "password2": "a-long-and-unusual-passphrase",
}


def sign_up(client, django_capture_on_commit_callbacks, **overrides):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/accounts/signup/", {**SIGNUP, **overrides})


def confirm_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body).group(1)


def test_org1_signup_creates_account_org_and_super_admin(
    client, db, django_capture_on_commit_callbacks
):
    response = sign_up(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="nina@nimbus.example")
    with scopes_disabled():
        [membership] = CrmUser.objects.filter(user=user)
    assert membership.org.name == "Nimbus Trading"
    assert membership.org.slug == "nimbus-trading"
    assert (membership.is_super_admin, membership.status) == (True, "active")
    assert (membership.first_name, membership.last_name) == ("Nina", "Nimbus")
    assert membership.org.is_verified is False, "unverified until the email is confirmed (ORG-2)"
    [message] = mail.outbox
    assert message.to == ["nina@nimbus.example"]
    assert "/accounts/confirm-email/" in message.body


def test_org2_confirming_the_email_verifies_the_org_and_signs_in(
    client, db, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks)
    link = confirm_link(mail.outbox[0])
    org = Organization.objects.get(name="Nimbus Trading")

    page = client.get(link)  # a mail scanner's GET confirms nothing
    assert page.status_code == 200
    org.refresh_from_db()
    assert not org.is_verified

    response = client.post(link, follow=True)
    org.refresh_from_db()
    assert org.is_verified
    assert response.redirect_chain[-1][0] == f"/o/{org.slug}/"
    body = response.content.decode()
    assert "Nimbus Trading" in body and "unverified-banner" not in body


def test_org2_unverified_org_dashboard_says_so(client, db, django_capture_on_commit_callbacks):
    sign_up(client, django_capture_on_commit_callbacks)
    user = User.objects.get(email=SIGNUP["email"])
    EmailAddress.objects.filter(user=user).update(verified=True)  # e.g. a secondary flow
    client.force_login(user)
    org = Organization.objects.get(name="Nimbus Trading")
    body = client.get(f"/o/{org.slug}/").content.decode()
    assert 'id="unverified-banner"' in body
    assert "Invitations are recorded but not sent" in body


def test_org1_unverified_account_cannot_sign_in(client, db, django_capture_on_commit_callbacks):
    sign_up(client, django_capture_on_commit_callbacks)
    client.logout()
    response = client.post(
        "/accounts/login/", {"login": SIGNUP["email"], "password": SIGNUP["password1"]}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session
    assert "Create your organisation" in client.get("/").content.decode(), "still anonymous"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("organization_name", "   ", "This field is required."),
        ("email", "not-an-email", "Enter a valid email address."),
        ("password2", "something-else-entirely", "You must type the same password each time."),
        ("last_name", "", "This field is required."),
    ],
)
def test_org1_bad_signup_input_keeps_what_was_typed_and_writes_nothing(
    client, db, django_capture_on_commit_callbacks, field, value, message
):
    response = sign_up(client, django_capture_on_commit_callbacks, **{field: value})
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert 'value="Nina"' in body, "the first name the user typed is kept"
    assert not User.objects.exists() and not Organization.objects.exists()
    assert mail.outbox == []


def test_org1_signup_errors_in_japanese(client, db, django_capture_on_commit_callbacks):
    client.post("/language/", {"language": "ja", "next": "/accounts/signup/"})
    response = sign_up(client, django_capture_on_commit_callbacks, email="not-an-email")
    body = response.content.decode()
    assert 'lang="ja"' in body
    assert "有効なメールアドレスを入力してください。" in body
    assert "組織名" in body


def test_org3_signup_with_a_taken_email_reveals_nothing(
    client, db, django_capture_on_commit_callbacks
):
    """Enumeration prevention: same answer as a fresh sign-up; the owner gets a notice."""
    UserFactory(email=SIGNUP["email"])
    response = sign_up(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert User.objects.count() == 1 and not Organization.objects.exists()
    [notice] = mail.outbox
    assert notice.to == [SIGNUP["email"]]
    assert "already" in notice.subject.lower() or "already" in notice.body.lower()


def test_x2_failed_logins_are_rate_limited_on_the_shared_cache(client, db):
    user = UserFactory(email="target@example.com")
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": user.email, "password": "wrong"})
        assert "Too many failed login attempts" not in response.content.decode()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def totp_now(secret: str) -> str:
    """RFC 6238, as an authenticator app computes it: SHA-1, 30 s, 6 digits."""
    key = base64.b32decode(secret, casefold=True)
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"


@pytest.fixture
def user_with_totp(admin_a):
    user = admin_a.user
    secret = base64.b32encode(b"0123456789abcdefghij").decode()
    TOTP.activate(user, secret)
    codes = RecoveryCodes.activate(user).get_unused_codes()
    return user, secret, codes


def test_x2_totp_is_asked_after_the_password(client, user_with_totp, org_a):
    user, secret, _ = user_with_totp
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200 and "Incorrect code" in wrong.content.decode()

    response = client.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)}, follow=True)
    assert response.redirect_chain[-1][0] == f"/o/{org_a.slug}/"


def test_x2_a_recovery_code_works_once(client, user_with_totp, org_a):
    user, _, codes = user_with_totp
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    response = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert response.status_code == 302
    client.logout()
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    again = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert again.status_code == 200 and "_auth_user_id" not in client.session
