"""CAM-4: the operator lifts the invitation block of one address, audited."""

import getpass

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from campaigns_users.services import address_unblock
from crm_portal.exceptions import ActionRefused
from users.models import Organization


class Command(BaseCommand):
    help = "Let an address be invited to Campaigns teams again after two sends or two declines."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--org", help="the organisation's slug (default: every org)")
        parser.add_argument("--operator", default="", help="who lifts it (for the audit log)")

    def handle(self, *args, email, org=None, operator="", **options):
        organization = None
        if org:
            with scopes_disabled():
                organization = Organization.objects.filter(slug=org).first()
            if organization is None:
                raise CommandError(f"No organisation {org!r}.")
        try:
            lifted = address_unblock(
                email=email, org=organization, operator=operator or getpass.getuser()
            )
        except ActionRefused as refusal:
            raise CommandError(refusal.message) from None
        if not lifted:
            raise CommandError(f"{email} is not blocked anywhere.")
        self.stdout.write(f"Lifted the block of {email} in {lifted} organisation(s).")
