"""Operators' view of poison events (AUT-8): record events that failed OUTBOX_MAX_ATTEMPTS
times and are retried no more, with their last error; `--retry ID ...` (or `--retry-all`)
hands them to the workers again once the cause is fixed."""

from django.core.management.base import BaseCommand
from django_scopes import scopes_disabled

from records.models import RecordEvent
from records.outbox import record_events_retry_failed


class Command(BaseCommand):
    help = "List record events that failed for good; --retry hands them to the workers again."

    def add_arguments(self, parser):
        parser.add_argument("--retry", nargs="+", type=int, default=[], metavar="ID")
        parser.add_argument("--retry-all", action="store_true")

    def handle(self, *args, retry, retry_all, **options):
        if retry or retry_all:
            count = record_events_retry_failed(ids=None if retry_all else retry)
            self.stdout.write(f"{count} event(s) handed to the workers again.")
            return
        with scopes_disabled():
            failed = RecordEvent.objects.filter(
                failed_at__isnull=False, processed_at__isnull=True
            ).select_related("org")
            for event in failed.order_by("failed_at", "pk"):
                self.stdout.write(
                    f"{event.pk}\t{event.org.slug}\t{event.module}#{event.record_id}\t"
                    f"{event.kind}\tattempts={event.attempts}\t"
                    f"failed at {event.failed_at:%Y-%m-%d %H:%M:%S}\t{event.last_error}"
                )
            self.stdout.write(f"{failed.count()} failed event(s).")
