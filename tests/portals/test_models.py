"""The portal tables' own rules (POR-3, POR-1): a contact is a portal user of a portal at most
once, an address once per portal, whatever the race; a portal's address is unique."""

import pytest
from django.db import IntegrityError, transaction
from django_scopes import scopes_disabled

from tests.portals.factories import PortalFactory, PortalUserFactory


@pytest.fixture
def portal_user(db):
    with scopes_disabled():
        return PortalUserFactory()


def test_por3_a_contact_is_a_portal_user_of_a_portal_at_most_once(portal_user):
    with scopes_disabled(), pytest.raises(IntegrityError), transaction.atomic():
        PortalUserFactory(
            group=portal_user.group, contact=portal_user.contact, email="other@example.org"
        )


def test_por3_an_address_is_used_once_per_portal_whatever_its_case(portal_user):
    with scopes_disabled(), pytest.raises(IntegrityError), transaction.atomic():
        PortalUserFactory(group=portal_user.group, email=portal_user.email.upper())


def test_por3_the_same_contact_may_join_another_portal(portal_user):
    with scopes_disabled():
        other = PortalUserFactory(contact=portal_user.contact, group__portal__org=portal_user.org)
    assert other.portal != portal_user.portal


def test_por1_portal_addresses_are_unique_across_organisations(db):
    with scopes_disabled():
        PortalFactory(slug="help")
        with pytest.raises(IntegrityError), transaction.atomic():
            PortalFactory(slug="help")


def test_por6_a_contacts_language_if_offered_else_the_portals_default(db):
    with scopes_disabled():
        portal = PortalFactory(languages=["en", "ja"], default_language="en")
    assert portal.language_for("ja") == "ja"
    assert portal.language_for("de") == "en"
