"""Mail sync speed (issue 14, MAIL-5): prints figures beside their goals, asserts nothing.

Goals: the first sync of a 10,000-message mailbox from a local Dovecot at ≥ 500 messages/s
with a peak memory < 200 MB; an incremental sync with nothing new in < 1 s and a constant
number of SQL statements (the same for a mailbox of 10 messages as of 10,000).

How: the tests' harness (tests/mailoptions/dovecot.py) starts Debian's Dovecot unprivileged on
127.0.0.1 and BENCH_MESSAGES (default 10000) messages are put in a maildir with the stdlib's
mailbox.Maildir: small multipart messages (text and HTML), a few recipients each, one in ten
addressed to one of 200 contacts of the org. A throwaway PostgreSQL database
`crm_portal_bench_<pid>` is created on the server of DATABASE_URL, migrated, and dropped at the
end. The sync runs in a fresh child process (--child), through the real service
(mailoptions.sync.mailbox_sync) over a real IMAP connection; its peak memory is the child's
whole resident set (ru_maxrss: Python, Django and the sync together).

Run:  make bench      or      .venv/bin/python benchmarks/mail_sync.py
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench_db import database_admin, with_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "10000"))
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


TEMPLATE = (
    "From: Sender {s} <sender{s}@example.net>\r\n"
    "To: owner@bench.example, colleague{c}@bench.example{extra}\r\n"
    "Cc: team{t}@bench.example\r\n"
    "Subject: Order {n}: shipment update\r\n"
    "Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n"
    "Message-ID: <{n}.bench@example.net>\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/alternative; boundary="=={n}=="\r\n\r\n'
    "--=={n}==\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Hello,\r\n\r\nOrder {n} ships tomorrow.\r\n{filler}\r\n"
    "--=={n}==\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    "<p>Hello,</p><p>Order <b>{n}</b> ships tomorrow.</p>\r\n"
    "--=={n}==--\r\n"
)


def message(n: int) -> bytes:
    """A small multipart message (text and HTML, a boundary of its own), about 1 kB."""
    extra = f", contact{n % 200}@customer.example" if n % 10 == 0 else ""
    text = TEMPLATE.format(
        n=n, s=n % 50, c=n % 7, t=n % 3, extra=extra, filler="Details follow. " * 40
    )
    return text.encode()


def child(port: int, login: str, small_login: str) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_portal.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scope, scopes_disabled

    from mailoptions.models import Mailbox
    from mailoptions.secrets import secret_encrypt
    from mailoptions.sync import mailbox_sync
    from records.models import Contact
    from users.models import CrmUser, Organization
    from users.services.organizations import organization_defaults_create

    call_command("migrate", verbosity=0)
    with scopes_disabled():
        org = Organization.objects.create(name="Bench", slug="bench")
        organization_defaults_create(org=org)
        Contact.objects.bulk_create(
            Contact(org=org, last_name=f"C{n}", email=f"Contact{n}@customer.example")
            for n in range(200)
        )

        def mailbox_for(email, imap_login):
            owner = CrmUser.objects.create(org=org, email=email, last_name="Owner", status="active")
            return Mailbox.objects.create(
                org=org,
                owner=owner,
                host="127.0.0.1",
                port=port,
                security="none",
                login=imap_login,
                secret_encrypted=secret_encrypt("bench-password"),
                sharing="record_level",
            )

        big, small = (
            mailbox_for("owner@bench.example", login),
            mailbox_for("s@b.example", small_login),
        )
    with scope(org=org):
        started = time.perf_counter()
        stored = mailbox_sync(mailbox=big)
        first_seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        mailbox_sync(mailbox=small)
        rounds = []
        for box in (big, big, small):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                new = mailbox_sync(mailbox=box)
                rounds.append((time.perf_counter() - started, len(queries), new))
        big.refresh_from_db()
    return {
        "stored": stored,
        "result": big.last_sync_result,
        "first_seconds": first_seconds,
        "peak_mb": peak_mb,
        "incremental": rounds,
    }


def main() -> None:
    from tests.mailoptions.dovecot import Dovecot

    root = Path(tempfile.mkdtemp(prefix="crm-bench-dovecot-"))
    server = Dovecot(root).start()
    name = f"crm_portal_bench_{os.getpid()}"
    try:
        server.add_user("bench", "bench-password")
        server.add_user("small", "bench-password")
        started = time.perf_counter()
        server.deliver("bench", (message(n) for n in range(MESSAGES)))
        server.deliver("small", (message(n) for n in range(10)))
        print(f"seeded {MESSAGES} messages in {time.perf_counter() - started:.1f} s")
        error = database_admin("create", SERVER_URL, name).get("error")
        if error:
            sys.exit(f"no PostgreSQL for the benchmark: {error}")
        env = dict(os.environ, DATABASE_URL=with_database(SERVER_URL, name), DEBUG="true")
        env.setdefault("MAIL_SECRET_KEY", "bench-only-mail-secret-key")
        env["MAIL_IMAP_ALLOW_PRIVATE_HOSTS"] = "true"
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(server.port)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            sys.exit(out.stderr[-3000:])
        report(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        database_admin("drop", SERVER_URL, name)


def report(figures: dict) -> None:
    rate = figures["stored"] / figures["first_seconds"]
    print(
        f"first sync: {figures['stored']} messages ({figures['result']}) "
        f"in {figures['first_seconds']:.1f} s"
    )
    print(f"  messages/s     {rate:8.0f}    goal ≥ 500")
    print(f"  peak memory    {figures['peak_mb']:8.0f} MB goal < 200 MB")
    labels = (f"{MESSAGES} messages", f"{MESSAGES} messages, again", "10 messages")
    for label, (seconds, statements, new) in zip(labels, figures["incremental"], strict=True):
        print(
            f"incremental sync, nothing new ({label}): {seconds * 1000:6.0f} ms (goal < 1000 ms), "
            f"{statements} statements (goal: constant), {new} new"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", type=int)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(child(arguments.child, "bench", "small")))
    else:
        main()
