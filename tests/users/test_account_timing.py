"""Timing tells nobody whether an address has an account (ORG-3, issue 19).

Every page that takes an address from an anonymous person must answer an address with an
account as slowly as one without: the page already says the same words either way
(ACCOUNT_PREVENT_ENUMERATION), and here we hold the clock to it. Each test sends 20 requests
of each kind over real HTTP to a live server, interleaved, every one with an address of its
own, and compares the medians; they may differ by at most 1.5×. On a loaded machine one
measurement may be unlucky, so the whole measurement is taken once more before the test fails.

There is no timing test for resending a verification mail: no page resends one to an
address an anonymous person types (tests/users/test_account_enumeration.py)."""

import secrets
import statistics
import time
from collections.abc import Callable

import pytest
import requests
from allauth.account.models import EmailAddress
from django.conf import global_settings
from django.contrib.auth.hashers import make_password

from users.models import Organization, User

pytestmark = pytest.mark.timing

REQUESTS_EACH = 20
MAX_RATIO = 1.5
PASSWORD = "a-long-and-unusual-passphrase"
WRONG_PASSWORD = "not-the-passphrase-at-all"


@pytest.fixture
def timing_settings(settings):
    # The suite hashes with MD5 for speed (tests/conftest.py). An attacker meets the
    # production hasher, whose cost is the very thing that differed, so these tests use it.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    # Our 40 requests come from 127.0.0.1 within a minute: that is past sign-up's 20 a minute
    # per IP (login 30, failed logins 10, password reset 20), and a refused request answers
    # at once, so the test would time the limiter instead of the page. Only the per-IP
    # limits are raised; the per-address ones stay, as every request has its own address.
    settings.ACCOUNT_RATE_LIMITS = {
        "signup": "1000/m/ip",
        "login": "1000/m/ip",
        "login_failed": "1000/m/ip,5/300s/key",
        "reset_password": "1000/m/ip,5/m/key",
    }
    return settings


def fresh_address(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(6)}@example.com"


@pytest.fixture
def accounts(timing_settings, transactional_db):
    """Verified accounts with a production password hash, handed out one per request."""
    encoded = make_password(PASSWORD)  # one real hash, shared: same algorithm and work
    users = User.objects.bulk_create(
        User(email=fresh_address("taken"), password=encoded) for _ in range(2 * (REQUESTS_EACH + 1))
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users
    )
    return iter([user.email for user in users])


def timed_post(live_server, path: str, data: dict) -> tuple[float, requests.Response]:
    """A new visitor opens the page (for the CSRF cookie), then posts; only the post is timed."""
    with requests.Session() as session:
        session.get(f"{live_server.url}{path}", timeout=30).raise_for_status()
        token = session.cookies["csrftoken"]
        started = time.perf_counter()
        response = session.post(
            f"{live_server.url}{path}",
            data={**data, "csrfmiddlewaretoken": token},
            allow_redirects=False,
            timeout=60,
        )
        return time.perf_counter() - started, response


def interleaved_medians(known: Callable[[], float], unknown: Callable[[], float]):
    """Medians of REQUESTS_EACH timings each, alternating which kind goes first, after one
    request of each kind that is not counted (templates compile, connections open)."""
    known()
    unknown()
    samples: dict = {known: [], unknown: []}
    for i in range(REQUESTS_EACH):
        order = (known, unknown) if i % 2 == 0 else (unknown, known)
        for measure in order:
            samples[measure].append(measure())
    return statistics.median(samples[known]), statistics.median(samples[unknown])


def assert_same_time(known: Callable[[], float], unknown: Callable[[], float], what: str):
    measured = []
    for _attempt in range(2):  # a busy machine may spoil one measurement, not two
        known_median, unknown_median = interleaved_medians(known, unknown)
        ratio = max(known_median, unknown_median) / min(known_median, unknown_median)
        measured.append(
            f"known {known_median * 1000:.0f} ms, unknown {unknown_median * 1000:.0f} ms "
            f"({ratio:.2f}×)"
        )
        print(f"{what}: {measured[-1]}")
        if ratio <= MAX_RATIO:
            return
    pytest.fail(f"{what} tells addresses with an account apart by time: {'; '.join(measured)}")


def signup_data(email: str) -> dict:
    return {
        "organization_name": f"Firm {secrets.token_hex(4)}",
        "first_name": "Nina",
        "last_name": "Nimbus",
        "email": email,
        "password1": PASSWORD,
        "password2": PASSWORD,
    }


def test_org1_signup_timing_does_not_reveal_taken_addresses(live_server, accounts):
    def sign_up(email):
        elapsed, response = timed_post(live_server, "/accounts/signup/", signup_data(email))
        assert (response.status_code, response.headers["Location"]) == (
            302,
            "/accounts/confirm-email/",
        ), "both answer the same page"
        return elapsed

    assert_same_time(
        lambda: sign_up(next(accounts)), lambda: sign_up(fresh_address("fresh")), "Sign-up"
    )
    fresh_accounts = User.objects.filter(email__startswith="fresh-").count()
    assert Organization.objects.count() == fresh_accounts, "a taken address opened no org"


def test_org3_signin_timing_does_not_reveal_known_addresses(live_server, accounts):
    def sign_in(email):
        elapsed, response = timed_post(
            live_server, "/accounts/login/", {"login": email, "password": WRONG_PASSWORD}
        )
        assert response.status_code == 200
        assert "The email address and/or password you specified are not correct." in response.text
        return elapsed

    assert_same_time(
        lambda: sign_in(next(accounts)),
        lambda: sign_in(fresh_address("unknown")),
        "Sign-in with a wrong password",
    )


def test_org3_password_reset_timing_does_not_reveal_known_addresses(live_server, accounts):
    def reset(email):
        elapsed, response = timed_post(live_server, "/accounts/password/reset/", {"email": email})
        assert (response.status_code, response.headers["Location"]) == (
            302,
            "/accounts/password/reset/done/",
        )
        return elapsed

    assert_same_time(
        lambda: reset(next(accounts)), lambda: reset(fresh_address("unknown")), "Password reset"
    )
