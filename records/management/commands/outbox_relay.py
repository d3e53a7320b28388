from django.core.management.base import BaseCommand

from records.relay import Relay


class Command(BaseCommand):
    help = (
        "Hand committed record events to the Celery workers (the outbox relay, AUT-8). "
        "Runs until SIGTERM or Ctrl-C; several may run side by side."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--poll-seconds",
            type=float,
            default=None,
            help="Look for events at least this often (default OUTBOX_RELAY_POLL_SECONDS).",
        )

    def handle(self, *args, poll_seconds, **options):
        relay = Relay(poll_seconds=poll_seconds)
        relay.install_signal_handlers()
        relay.run()
