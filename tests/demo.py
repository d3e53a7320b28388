"""The demo organisation (`manage.py seed_demo`) with a little more in it, for the tests that
look at every page as a person would: an account with a contact, an API token, a past import."""

from dataclasses import dataclass

from django.core.management import call_command
from django_scopes import scope, scopes_disabled

from records.services import contact_update, record_create
from users.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from users.models import CrmUser, Organization


@dataclass
class Demo:
    org: Organization
    admin: CrmUser
    email: str = DEMO_EMAIL
    password: str = DEMO_PASSWORD

    def first_contact(self):
        with scope(org=self.org):
            return self.org.contacts.order_by("pk").first()

    def first_account(self):
        with scope(org=self.org):
            return self.org.accounts.order_by("pk").first()


def demo_org_create() -> Demo:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    with scopes_disabled():
        org = Organization.objects.get(slug="acme")
        admin = CrmUser.objects.get(org=org, email=DEMO_EMAIL)
    with scope(org=org):
        account = record_create(
            org=org, actor=admin, module="accounts", data={"name": "Dubois Industries"}
        )
        marie = org.contacts.get(last_name="Dubois")
        contact_update(contact=marie, actor=admin, data={"account": account, "title": "CEO"})
    return Demo(org=org, admin=admin)
