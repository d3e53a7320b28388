import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from users.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD


class Command(BaseCommand):
    help = (
        "Run web, the outbox relay, a Celery worker and Celery beat together; "
        "Ctrl-C stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--addr",
            default=settings.RUN_ADDR,
            help="host:port to serve on (default: RUN_ADDR, else 127.0.0.1:8000)",
        )

    def handle(self, *args, addr, **options):
        host, _, port = addr.rpartition(":")
        if not port.isdigit() or not host:
            raise CommandError(
                f"Give the address as host:port, e.g. 127.0.0.1:8001 (not {addr!r})."
            )
        if not port_is_free(host, int(port)):
            raise CommandError(
                f"Port {port} on {host} is already in use. Stop what is using it, "
                f"or choose another port: make run PORT={int(port) + 1}"
            )
        # Every process links to the address served here unless SITE_URL says otherwise.
        env = {**os.environ, "RUN_ADDR": addr}
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
        # Each process leads its own process group, so that stopping it also stops what it
        # started (the worker's pool children) even when the process itself has to be killed.
        processes = {
            name: subprocess.Popen(cmd, env=env, process_group=0) for name, cmd in commands.items()
        }
        url = f"http://{addr.replace('0.0.0.0', '127.0.0.1')}/"
        if "console" in settings.EMAIL_BACKEND:
            mail = "printed below, in this console (sign-up, invitations, password reset)"
        else:
            mail = f"sent by {settings.EMAIL_BACKEND}"
        self.stdout.write(
            self.style.SUCCESS(
                f"\ncrm-portal is running at {url}\n"
                f"Demo logins: {DEMO_EMAIL} / {DEMO_PASSWORD} (an admin); "
                f"sam@acme.example, same password (a Standard user)\n"
                f"Mail: {mail}\n"
                f"Links in mail point to {os.environ.get('SITE_URL') or url}\n"
                f"Broker: {settings.CELERY_BROKER_URL}\n"
                f"Press Ctrl-C to stop web, relay, worker and beat.\n"
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
            stop_all(processes.values())


def stop_all(processes, grace: float = 15) -> None:
    """SIGTERM every process group, give them `grace` seconds together, then SIGKILL what is
    left of each group, including children whose parent already exited."""
    for p in processes:
        signal_group(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in processes:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in processes:
        while group_alive(p.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        signal_group(p.pid, signal.SIGKILL)
        p.wait()


def signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family) as probe:
        # As the server will: a port left in TIME_WAIT by a stopped server counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError:
            return False
    return True
