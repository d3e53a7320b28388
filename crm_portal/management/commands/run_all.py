import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from users.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD


class Command(BaseCommand):
    help = (
        "Run web, the outbox relay, a Celery worker and Celery beat together; "
        "Ctrl-C stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("RUN_ADDR", "127.0.0.1:8000"))

    def handle(self, *args, addr, **options):
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "crm_portal"]
        commands = {
            "web": [python, "manage.py", "runserver", addr, "--noreload"],
            "relay": [python, "manage.py", "outbox_relay"],
            "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=2"],
            "beat": [
                *celery,
                "beat",
                "--loglevel=INFO",
                f"--schedule={settings.CELERY_BEAT_SCHEDULE_FILENAME}",
            ],
        }
        processes = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        host = addr.replace("0.0.0.0", "127.0.0.1")
        self.stdout.write(
            self.style.SUCCESS(
                f"\ncrm-portal is running at http://{host}/\n"
                f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}"
                f" (a Standard user: sam@acme.example, same password)\n"
                f"Broker: {settings.CELERY_BROKER_URL}   Press Ctrl-C to stop.\n"
            )
        )
        self.stdout.flush()
        try:
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            stopped = [name for name, p in processes.items() if p.poll() is not None]
            self.stderr.write(f"{', '.join(stopped)} stopped; stopping the rest.")
        except KeyboardInterrupt:
            self.stdout.write("Stopping web, relay, worker and beat…")
        finally:
            for p in processes.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for p in processes.values():
                try:
                    p.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
