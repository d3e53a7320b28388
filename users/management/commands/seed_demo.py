from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from invitations.crm_users import crm_user_add_and_invite
from records.services import contact_create
from users.models import CrmUser, Organization, Profile, User
from users.services.organizations import organization_create

DEMO_EMAIL = "admin@acme.example"
DEMO_PASSWORD = "acme-demo-2026"
DEMO_CONTACTS = [
    ("Marie", "Dubois", "marie.dubois@example.fr", "en", "FR"),
    ("Hiroshi", "Tanaka", "hiroshi.tanaka@example.jp", "ja", "JP"),
    ("Lena", "Schmidt", "lena.schmidt@example.de", "en", "DE"),
    ("Carlos", "García", "carlos.garcia@example.es", "en", "ES"),
    ("Emma", "Wilson", "", "en", "GB"),
]


class Command(BaseCommand):
    help = "Create the demo organisation 'Acme' with an admin and a few contacts (idempotent)."

    def handle(self, *args, **options):
        with scopes_disabled():
            if Organization.objects.filter(slug="acme").exists():
                self.stdout.write("The demo organisation already exists.")
                return
        with transaction.atomic():
            admin = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, language="en")
            EmailAddress.objects.create(user=admin, email=DEMO_EMAIL, verified=True, primary=True)
            org = organization_create(name="Acme", owner=admin, first_name="Ada", last_name="Admin")
            org.slug, org.verified_at = "acme", timezone.now()
            org.plan, org.purchased_licences = Organization.Plan.PAID, 10
            org.save(update_fields=["slug", "verified_at", "plan", "purchased_licences"])
            with scope(org=org):
                membership = org.crm_users.get(user=admin)
                self._team(org, membership)
                for first, last, email, language, country in DEMO_CONTACTS:
                    contact_create(
                        org=org,
                        actor=membership,
                        data={
                            "first_name": first,
                            "last_name": last,
                            "email": email,
                            "language": language,
                            "country": country,
                            "owner": membership,
                        },
                    )
        self.stdout.write(self.style.SUCCESS(f"Demo organisation 'Acme' created ({org.slug})."))

    def _team(self, org, admin):
        """A Standard user who can sign in, and one invitation waiting to be accepted."""
        standard = org.profiles.get(builtin=Profile.STANDARD)
        manager = org.roles.get(name="Manager")
        sam = User.objects.create_user("sam@acme.example", DEMO_PASSWORD, language="en")
        EmailAddress.objects.create(user=sam, email=sam.email, verified=True, primary=True)
        CrmUser.objects.create(
            org=org,
            user=sam,
            email=sam.email,
            first_name="Sam",
            last_name="Sales",
            status=CrmUser.Status.ACTIVE,
            profile=standard,
            role=manager,
        )
        crm_user_add_and_invite(
            org=org,
            actor=admin,
            first_name="Nora",
            last_name="Newcomer",
            email="nora@acme.example",
            role=manager,
            profile=standard,
        )
