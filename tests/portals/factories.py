"""Portals, user groups and portal users for tests (POR-1 … POR-4)."""

import factory

from portals.models import Portal, PortalUser, UserGroup
from tests.records.factories import ContactFactory
from tests.users.factories import OrganizationFactory

CONTACTS_VIEW_OWN = {
    "contacts": {
        "actions": ["view"],
        "records": "own",
        "fields_shown": ["first_name", "last_name", "email", "phone"],
        "fields_editable": [],
    }
}


class PortalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Portal

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Customer portal {n}")
    slug = factory.Sequence(lambda n: f"portal-{n}")
    languages = factory.LazyFunction(lambda: ["en", "ja"])
    default_language = "en"


class UserGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserGroup

    portal = factory.SubFactory(PortalFactory)
    org = factory.SelfAttribute("portal.org")
    name = factory.Sequence(lambda n: f"Customers {n}")
    modules = factory.LazyFunction(lambda: {k: dict(v) for k, v in CONTACTS_VIEW_OWN.items()})


class PortalUserFactory(factory.django.DjangoModelFactory):
    """An invited portal user (no account yet); pass user=… and status=ACTIVE for one who
    accepted."""

    class Meta:
        model = PortalUser

    group = factory.SubFactory(UserGroupFactory)
    portal = factory.SelfAttribute("group.portal")
    org = factory.SelfAttribute("group.org")
    contact = factory.SubFactory(ContactFactory, org=factory.SelfAttribute("..org"))
    email = factory.SelfAttribute("contact.email")
    language = "en"
    status = PortalUser.Status.INVITED
