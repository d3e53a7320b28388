"""No account enumeration by the work a page does (ORG-3, issue 19). The words are the same
either way (tests/users/test_accounts.py); here, every page that takes an address from an
anonymous person does the same work whether the address has an account or not: the same
password hashing, the same database statements, and mail handed to a worker in both cases
(X-4). tests/users/test_account_timing.py holds the clock to it over HTTP."""

import re
from collections import Counter

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from invitations.crm_users import crm_user_add_and_invite
from tests.users.factories import PASSWORD, UserFactory, builtin_profile, role_named
from users.models import Organization, User

TAKEN = "taken@example.com"
FRESH = "fresh@example.com"


def signup_data(email: str) -> dict:
    return {
        "organization_name": "Nimbus Trading",
        "first_name": "Nina",
        "last_name": "Nimbus",
        "email": email,
        "password1": "a-long-and-unusual-passphrase",
        "password2": "a-long-and-unusual-passphrase",
    }


class CountingHasher(MD5PasswordHasher):
    """The suite's fast hasher, counting how many times a password is hashed."""

    count = 0

    def encode(self, password, salt):
        CountingHasher.count += 1
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]

    def since_last_call() -> int:
        count, CountingHasher.count = CountingHasher.count, 0
        return count

    since_last_call()
    return since_last_call


TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"')


def statements(queries) -> Counter:
    """What each statement does to which table: ('INSERT', 'users_organization'), ...
    Transaction control (BEGIN, SAVEPOINT, COMMIT, ROLLBACK, ...) counts under its verb."""
    done = Counter()
    for query in queries.captured_queries:
        sql = re.sub(r"^DECLARE .*? FOR ", "", query["sql"])
        table = TABLE.search(sql)
        done[(sql.split()[0], table.group(1) if table else "")] += 1
    return done


def data_statements(queries) -> Counter:
    return Counter({key: n for key, n in statements(queries).items() if key[0] in DATA_VERBS})


DATA_VERBS = {"SELECT", "INSERT", "UPDATE", "DELETE"}


def post_counting(path: str, data: dict, capture_on_commit) -> tuple:
    """A new visitor's POST: the response, the statements it ran, and the on-commit work it
    left for after the transaction (where mail is handed to a worker)."""
    with (
        CaptureQueriesContext(connection) as queries,
        capture_on_commit() as callbacks,
    ):
        response = Client().post(path, data)
    return response, queries, callbacks


def signup_counting(email: str):
    with CaptureQueriesContext(connection) as queries:
        response = Client().post("/accounts/signup/", signup_data(email))
    return response, queries


def test_org3_taken_address_signup_does_the_work_of_a_real_one(transactional_db, hashes):
    """Committed for real (transactional_db), as in production: a test's enclosing
    transaction would turn the rehearsal's ROLLBACK into two savepoint statements."""
    UserFactory(email=TAKEN)
    hashes()
    taken, taken_queries = signup_counting(TAKEN)
    taken_hashes = hashes()
    fresh, fresh_queries = signup_counting(FRESH)
    assert taken["Location"] == fresh["Location"] == "/accounts/confirm-email/"
    assert taken_hashes == hashes() == 1, "the password is hashed either way"
    assert data_statements(taken_queries) == data_statements(fresh_queries)
    assert len(taken_queries) == len(fresh_queries), "as many round trips to the database"
    assert ("INSERT", "users_organization") in data_statements(taken_queries)
    assert list(User.objects.order_by("email").values_list("email", flat=True)) == [FRESH, TAKEN]
    assert Organization.objects.count() == 1, "the rehearsal left nothing behind"
    assert not EmailAddress.objects.filter(email__endswith=".invalid").exists()


@pytest.mark.parametrize("taken", [True, False], ids=["taken", "fresh"])
def test_x4_signup_mail_leaves_from_a_worker_taken_or_not(
    db, django_capture_on_commit_callbacks, taken
):
    if taken:
        UserFactory(email=TAKEN)
    email = TAKEN if taken else FRESH
    response, _, callbacks = post_counting(
        "/accounts/signup/", signup_data(email), django_capture_on_commit_callbacks
    )
    assert response["Location"] == "/accounts/confirm-email/"
    assert mail.outbox == [], "the request sends nothing itself"
    for handed_over in callbacks:
        handed_over()  # the commit hands the mail to a worker (eager in the suite)
    [message] = mail.outbox
    assert message.to == [email]
    expected = "already" if taken else "confirm-email"
    assert expected in message.body.lower()


def test_usr4_invited_address_with_an_account_signs_up_like_any_taken_one(
    client, org_a, admin_a, django_capture_on_commit_callbacks
):
    """Following an invitation stashes the invited address as verified; the rehearsal must
    neither give it to its stand-in account nor lose it."""
    UserFactory(email="kenji@example.jp")
    with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
        crm_user_add_and_invite(
            org=org_a,
            actor=admin_a,
            first_name="Kenji",
            last_name="Sato",
            email="kenji@example.jp",
            role=role_named(org_a, "Manager"),
            profile=builtin_profile(org_a, "standard"),
        )
    token = re.search(r"/invite/([^/\s]+)/", mail.outbox[0].body).group(1)
    mail.outbox.clear()
    client.post(f"/invite/{token}/signup/")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/", {**signup_data("kenji@example.jp"), "last_name": "Sato"}
        )
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.session["account_verified_email"] == "kenji@example.jp"
    [notice] = mail.outbox
    assert notice.to == ["kenji@example.jp"] and "already" in notice.body.lower()
    assert User.objects.count() == 2 and Organization.objects.count() == 1


def test_org3_signin_hashes_as_much_for_an_unknown_address(db, hashes):
    """Django's and allauth's backends each hash a password for an unknown address, as they
    check the known account's: a wrong password costs the same either way."""
    UserFactory(email=TAKEN)
    hashes()
    answers = {}
    for email in (TAKEN, FRESH):
        response = Client().post("/accounts/login/", {"login": email, "password": "wrong-one"})
        answers[email] = (response.status_code, hashes())
        assert "The email address and/or password you specified are not correct." in (
            response.content.decode()
        )
    assert answers[TAKEN] == answers[FRESH] == (200, 2)


def test_org3_password_reset_does_the_same_work_known_or_not(
    db, django_capture_on_commit_callbacks
):
    UserFactory(email=TAKEN)
    known, known_queries, known_mail = post_counting(
        "/accounts/password/reset/", {"email": TAKEN}, django_capture_on_commit_callbacks
    )
    unknown, unknown_queries, unknown_mail = post_counting(
        "/accounts/password/reset/", {"email": FRESH}, django_capture_on_commit_callbacks
    )
    assert known["Location"] == unknown["Location"] == "/accounts/password/reset/done/"
    assert len(known_queries) == len(unknown_queries), "as many round trips to the database"
    assert mail.outbox == [], "the request sends nothing itself"
    for handed_over in [*known_mail, *unknown_mail]:
        handed_over()
    assert [message.to for message in mail.outbox] == [[TAKEN], [FRESH]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert "/accounts/signup/" in mail.outbox[1].body, "the unknown address is told so"


def test_org3_verification_is_resent_only_to_whoever_has_the_password(
    db, django_capture_on_commit_callbacks
):
    """No page lets an anonymous person ask for a verification mail by typing an address:
    allauth's verification by link has no resend form. Signing in to an unverified account
    resends it, and that takes the account's password; a wrong one answers as for an
    address without an account."""
    account = UserFactory(email=TAKEN, verified=False)
    EmailAddress.objects.create(user=account, email=TAKEN, verified=False, primary=True)
    assert Client().post("/accounts/confirm-email/", {"email": TAKEN}).status_code == 405
    pages = []
    for email in (TAKEN, FRESH):
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post("/accounts/login/", {"login": email, "password": "wrong"})
        pages.append((response.status_code, "are not correct" in response.content.decode()))
    assert pages == [(200, True), (200, True)] and mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/accounts/login/", {"login": TAKEN, "password": PASSWORD})
    assert response["Location"] == "/accounts/confirm-email/"
    [message] = mail.outbox
    assert message.to == [TAKEN] and "/accounts/confirm-email/" in message.body


def test_usr4_invitation_pages_do_not_depend_on_the_invited_address_having_an_account(
    org_a, admin_a, django_capture_on_commit_callbacks
):
    """The invitation page for a visitor, and the "sign in with that address" page and
    refusal for someone signed in with another address, read nothing about the invited
    address's account: the same page and the same statements whether it has one or not."""
    with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
        crm_user_add_and_invite(
            org=org_a,
            actor=admin_a,
            first_name="Kenji",
            last_name="Sato",
            email="kenji@example.jp",
            role=role_named(org_a, "Manager"),
            profile=builtin_profile(org_a, "standard"),
        )
    link = re.search(r"https?://[^/\s]+(/invite/[^/\s]+/)", mail.outbox[0].body).group(1)
    someone_else = Client()
    someone_else.force_login(UserFactory(email="mallory@example.net"))

    def pages():
        seen = []
        for visitor, send in (
            (Client(), lambda client: client.get(link)),
            (someone_else, lambda client: client.get(link)),
            (someone_else, lambda client: client.post(f"{link}accept/", follow=True)),
        ):
            with CaptureQueriesContext(connection) as queries:
                body = send(visitor).content.decode()
            seen.append((strip_per_request_tokens(body), statements(queries)))
        return seen

    without_account = pages()
    UserFactory(email="kenji@example.jp")
    assert pages() == without_account
    welcome, wrong_account, refused = (body for body, _ in without_account)
    assert "Already have an account?" in welcome and "Create an account" in welcome
    assert "Sign out, then sign in or sign up with kenji@example.jp." in wrong_account
    assert "Sign in with that address to accept it." in refused


def strip_per_request_tokens(body: str) -> str:
    """Without what changes on every response: CSRF tokens and CSP nonces."""
    body = re.sub(r"\b[A-Za-z0-9]{64}\b", "", body)
    return re.sub(r'nonce="[^"]+"', "", body)
