"""A small world for the portal site's tests (POR-2, POR-7): one org with a portal, a portal
user whose contact belongs to an account with a colleague, a stranger of the same org outside
every slice, and another org's contact and account."""

from dataclasses import dataclass

from django.test import Client
from django_scopes import scopes_disabled

from portals.models import Portal, PortalUser, UserGroup
from records.models import Account, Contact
from tests.portals.factories import PortalFactory, PortalUserFactory, UserGroupFactory
from tests.records.factories import ContactFactory
from tests.users.factories import PASSWORD, OrganizationFactory, UserFactory

CONTACT_FIELDS = ["first_name", "last_name", "email", "phone"]
ACCOUNT_FIELDS = ["name", "phone"]


def group_modules(scope: str, actions=("view",), editable=("phone",), accounts=True) -> dict:
    modules = {
        "contacts": {
            "actions": list(actions),
            "records": scope,
            "fields_shown": CONTACT_FIELDS,
            "fields_editable": list(editable),
        }
    }
    if accounts:
        modules["accounts"] = {
            "actions": list(actions),
            "records": scope,
            "fields_shown": ACCOUNT_FIELDS,
            "fields_editable": ["phone"],
        }
    return modules


@dataclass
class World:
    portal: Portal
    group: UserGroup
    portal_user: PortalUser
    me: Contact
    colleague: Contact
    stranger: Contact
    foreign: Contact
    account: Account
    other_account: Account
    foreign_account: Account

    def client(self) -> Client:
        client = Client()
        client.force_login(self.portal_user.user)
        return client

    def url(self, tail: str = "") -> str:
        return f"/portal/{self.portal.slug}/{tail}"


def make_world(modules: dict | None = None, org=None, slug: str = "help") -> World:
    with scopes_disabled():
        org = org or OrganizationFactory(name="Alpha Corp", slug="alpha")
        other_org = OrganizationFactory(name="Beta Ltd", slug="beta-portal")
        account = Account.objects.create(org=org, name="Acme Ltd", phone="+33 1 00 00 00 00")
        other_account = Account.objects.create(org=org, name="Globex")
        foreign_account = Account.objects.create(org=other_org, name="Initech")
        me = ContactFactory(org=org, first_name="Paula", last_name="Portal", account=account)
        colleague = ContactFactory(
            org=org, first_name="Carl", last_name="Colleague", account=account
        )
        stranger = ContactFactory(
            org=org, first_name="Sam", last_name="Stranger", account=other_account
        )
        foreign = ContactFactory(org=other_org, first_name="Fred", last_name="Foreign")
        portal = PortalFactory(org=org, slug=slug, name="Acme Help Centre")
        group = UserGroupFactory(portal=portal, modules=modules or group_modules("related"))
        user = UserFactory(email=me.email)
        portal_user = PortalUserFactory(
            group=group, contact=me, user=user, status=PortalUser.Status.ACTIVE
        )
    return World(
        portal,
        group,
        portal_user,
        me,
        colleague,
        stranger,
        foreign,
        account,
        other_account,
        foreign_account,
    )


__all__ = ["PASSWORD", "World", "group_modules", "make_world"]
