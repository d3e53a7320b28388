"""The cast, like healthchecks' alice/bob/charlie: two orgs, an admin and a member of A,
an admin of B, and an anonymous visitor."""

import pytest
from django.conf import settings as settings_module
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from django_scopes import scopes_disabled

from records.modules import forget_field_registry
from tests.users.factories import CrmUserFactory, OrganizationFactory

pytest_plugins = ["tests.workers"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # allauth's rate limits live in the (real, Redis) cache
    yield


@pytest.fixture(autouse=True)
def _fresh_field_registry():
    forget_field_registry()  # each test starts as a fresh process would
    yield


@pytest.fixture(autouse=True)
def _english_between_tests():
    """A request in Japanese leaves Japanese active in the thread; the next test starts in
    English, as a fresh process would."""
    yield
    translation.activate(settings_module.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org_a(db):
    return OrganizationFactory(name="Alpha Corp", slug="alpha")


@pytest.fixture
def org_b(db):
    return OrganizationFactory(name="Beta Ltd", slug="beta")


@pytest.fixture
def admin_a(org_a):
    with scopes_disabled():
        return CrmUserFactory(org=org_a, is_super_admin=True, first_name="Alice", last_name="Admin")


@pytest.fixture
def member_a(org_a):
    with scopes_disabled():
        return CrmUserFactory(org=org_a, first_name="Mark", last_name="Member")


@pytest.fixture
def admin_b(org_b):
    with scopes_disabled():
        return CrmUserFactory(org=org_b, is_super_admin=True, first_name="Bob", last_name="Boss")


def client_for(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.fixture
def client_admin_a(admin_a):
    return client_for(admin_a)


@pytest.fixture
def client_member_a(member_a):
    return client_for(member_a)


@pytest.fixture
def client_admin_b(admin_b):
    return client_for(admin_b)
