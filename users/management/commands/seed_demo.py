from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from records.services import contact_create
from users.models import Organization, User
from users.services import organization_create

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
            org.save(update_fields=["slug", "verified_at"])
            with scope(org=org):
                membership = org.crm_users.get(user=admin)
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
