"""Operators' delivery log (X-4, issue 16): every attempt to hand an invitation mail to the
provider, newest last, with its outcome. `--interrupted` lists only the attempts a worker
died in the middle of — the mails a recipient may have got twice — each with what followed."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from invitations.models import DeliveryAttempt


class Command(BaseCommand):
    help = (
        "List invitation delivery attempts; --interrupted: only those a worker died in the "
        "middle of (a second copy may have gone out)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", help="an organisation's slug")
        parser.add_argument("--hours", type=float, default=24, help="how far back (24)")
        parser.add_argument("--interrupted", action="store_true")
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, org, hours, interrupted, limit, **options):
        if hours <= 0 or limit <= 0:
            raise CommandError("--hours and --limit must be positive.")
        with scopes_disabled():
            attempts = DeliveryAttempt.objects.filter(
                created_at__gte=timezone.now() - timedelta(hours=hours)
            ).select_related("org", "invitation")
            if org:
                attempts = attempts.filter(org__slug=org)
            if interrupted:
                # Marked so by the next delivery, or still "sending" a minute on: a dead worker.
                stuck = timezone.now() - timedelta(minutes=1)
                attempts = attempts.filter(
                    Q(outcome=DeliveryAttempt.Outcome.INTERRUPTED)
                    | Q(outcome=DeliveryAttempt.Outcome.SENDING, created_at__lt=stuck)
                )
            rows = list(attempts.order_by("-created_at", "-pk")[:limit])
            for attempt in reversed(rows):
                self.stdout.write(
                    f"{attempt.created_at:%Y-%m-%d %H:%M:%S}\t{attempt.org.slug}\t"
                    f"invitation {attempt.invitation_id} send {attempt.send_number}\t"
                    f"{attempt.invitation.email}\t{attempt.outcome}\t{attempt.error}"
                )
        kind = "interrupted attempt(s)" if interrupted else "attempt(s)"
        self.stdout.write(f"{len(rows)} {kind} in the last {hours:g} h.")
