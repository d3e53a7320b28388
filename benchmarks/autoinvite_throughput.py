"""Auto-invite throughput (issue 13, Speed; AUT-8, AUT-12): prints figures, asserts nothing.

What this measures — in ONE process, the code a worker runs, without the broker hop:
- evaluation: BENCH_CONTACTS (default 10,000) contacts created through the service layer
  (records.services.contact_create: contact + RecordEvent), in an org with 10 portals, each
  with an enabled auto-invite rule (common conditions, then per-language conditions); half
  of the contacts match. The pending events are then processed by
  records.outbox.record_events_process — the body of process_record_events_task — in batches
  of OUTBOX_TASK_BATCH_SIZE (100), and again from scratch in batches of 1 (the per-event
  reference; over BENCH_REFERENCE events, default 1,000, to keep the run short). Printed:
  events evaluated per second, statements per batch (CaptureQueriesContext), side by side.
- sending: portals.autoinvite.auto_invites_send (the per-org sender, its rate lifted) creates
  and sends the waiting invitations through the invitation core; Celery runs eagerly, so each
  delivery task hands its mail, on commit, to Django's SMTP backend pointed at an aiosmtpd
  sink in this process. Printed: invitations delivered per second over one sender run of
  BENCH_SENDS (default 1,000) of the waiting ones (one SMTP connection per message: the
  delivery task does not reuse connections yet).

NOT measured here (left for a follow-up): the real relay + separate worker process, and p50/p95
commit→mail at a steady 100 events/s. tests/integration/test_autoinvite_worker.py proves the
real-process behaviour, not its speed.

Languages: the issue asks for 5 languages per portal; only en and ja exist in
settings.LANGUAGES, so each rule has those two (said in the output).

Database: a throwaway PostgreSQL database `crm_portal_bench_ai_<pid>` on the server of
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), dropped at the end.

Run:  make bench      or      .venv/bin/python benchmarks/autoinvite_throughput.py
"""

import os
import socket
import sys
import time
from pathlib import Path

from _bench_db import database_admin, with_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONTACTS = int(os.environ.get("BENCH_CONTACTS") or 10_000)
REFERENCE = int(os.environ.get("BENCH_REFERENCE") or 1_000)
SENDS = int(os.environ.get("BENCH_SENDS") or 1_000)  # invitations timed (of the ~50,000 waiting)
PORTALS = 10
BATCH = 100
GOAL_EVENTS = 2000
GOAL_SENT = 350
SERVER = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"


def environment(name: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="crm_portal.settings",
        DEBUG="true",
        SECRET_KEY="benchmark-only-secret-key",
        DATABASE_URL=with_database(SERVER, name),
        REDIS_URL="",
        CELERY_BROKER_URL="memory://",
        CELERY_TASK_ALWAYS_EAGER="false",  # the sender's wake-up goes nowhere while evaluating
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        AUTO_INVITE_SENDS_PER_MINUTE=str(SENDS),  # one sender run takes SENDS
        OUTBOX_TASK_BATCH_SIZE=str(BATCH),
    )


def org_with_rules():
    from django_scopes import scopes_disabled

    from portals.models import AutoInviteRule, Portal, UserGroup
    from users.models import CrmUser, User
    from users.services.organizations import organization_create

    owner = User.objects.create_user(email="owner@bench.example.com")
    org = organization_create(name="Bench", owner=owner, last_name="Owner")
    org.verified_at = org.created_at  # invitations are held while an org is unverified
    org.save(update_fields=["verified_at"])
    paid = {"conditions": [{"field": "subscription", "op": "is", "value": "paid"}]}
    for n in range(PORTALS):
        with scopes_disabled():
            portal = Portal.objects.create(
                org=org, name=f"Portal {n}", slug=f"p{n}", languages=["en", "ja"]
            )
            AutoInviteRule.objects.create(
                org=org,
                portal=portal,
                group=UserGroup.objects.create(org=org, portal=portal, name="Customers"),
                is_enabled=True,
                language_mode="multiple",
                common_conditions={**paid, "pattern": ""},
                languages=[
                    {
                        "language": "ja",
                        "conditions": {
                            "conditions": [{"field": "country", "op": "is", "value": "JP"}],
                            "pattern": "",
                        },
                    },
                    {"language": "en", "conditions": {"conditions": [], "pattern": ""}},
                ],
            )
    with scopes_disabled():
        actor = CrmUser.objects.get(org=org, is_super_admin=True)
    return org, actor


def create_contacts(org, actor, count: int) -> float:
    from django_scopes import scope

    from records.services import contact_create

    started = time.perf_counter()
    with scope(org=org):
        for n in range(count):
            contact_create(
                org=org,
                actor=actor,
                data={
                    "last_name": f"Mori{n}",
                    "email": f"c{n}@example.jp",
                    "subscription": "paid" if n % 2 == 0 else "free",
                    "country": "JP" if n % 4 == 0 else "FR",
                },
            )
    return time.perf_counter() - started


def reset(org) -> None:
    """Back to "every event pending, nobody invited"."""
    from django_scopes import scopes_disabled

    from portals.models import AutoInviteDay, FailedInvitation, PortalUser
    from records.models import RecordEvent

    with scopes_disabled():
        PortalUser.objects.filter(org=org).delete()
        FailedInvitation.objects.filter(org=org).delete()
        AutoInviteDay.objects.filter(org=org).delete()
        RecordEvent.objects.filter(org=org).update(processed_at=None, attempts=0)


def evaluate(org, size: int, limit: int | None, profile: bool = False) -> dict:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scope, scopes_disabled

    from records.models import RecordEvent
    from records.outbox import record_events_process

    with scopes_disabled():
        ids = list(RecordEvent.objects.filter(org=org).order_by("pk").values_list("pk", flat=True))
    ids = ids[:limit] if limit else ids
    batches = [ids[i : i + size] for i in range(0, len(ids), size)]
    reset_queries()  # DEBUG keeps a log of 9,000 statements; a full one counts nothing
    with scope(org=org):
        with CaptureQueriesContext(connection) as first:
            record_events_process(event_ids=batches[0])
        started = time.perf_counter()
        if profile:
            import cProfile
            import pstats

            with cProfile.Profile() as prof:
                for batch in batches[1:]:
                    record_events_process(event_ids=batch)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        else:
            for batch in batches[1:]:
                record_events_process(event_ids=batch)
        seconds = time.perf_counter() - started
    timed = len(ids) - len(batches[0])
    return {"events": timed, "per_s": timed / seconds, "statements": len(first)}


def send_all(org) -> dict:
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django_scopes import scope, scopes_disabled

    from crm_portal.celery import app as celery_app
    from portals.autoinvite import auto_invites_send
    from portals.models import PortalUser

    class Sink:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.received += 1
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    celery_app.conf.task_always_eager = True  # each delivery task runs on its commit
    with scopes_disabled():
        waiting = PortalUser.objects.filter(org=org, auto_invite_waiting=True).count()
    started = time.perf_counter()
    with scope(org=org):
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            with cProfile.Profile() as prof:
                auto_invites_send(org=org)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
        else:
            auto_invites_send(org=org)
    seconds = time.perf_counter() - started
    controller.stop()
    celery_app.conf.task_always_eager = False
    return {"waiting": waiting, "delivered": Sink.received, "per_s": Sink.received / seconds}


def quiet() -> None:
    import logging

    for name in ("mail.log", "celery.app.trace"):  # a line per SMTP connection, per task
        logging.getLogger(name).setLevel(logging.WARNING)


def main() -> None:
    name = f"crm_portal_bench_ai_{os.getpid()}"
    created = database_admin("create", SERVER, name)
    if created.get("error"):
        raise SystemExit(f"PostgreSQL needed: {created['error']}")
    try:
        environment(name)
        import django

        django.setup()
        quiet()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        run()
    finally:
        from django.db import connections

        connections.close_all()
        database_admin("drop", SERVER, name)


def run() -> None:
    from django.conf import settings

    settings.DEBUG = False  # no query log in the timed parts (CaptureQueriesContext keeps its own)
    org, actor = org_with_rules()
    created = create_contacts(org, actor, CONTACTS)
    languages = [code for code, _name in settings.LANGUAGES]
    print(
        f"{CONTACTS} contacts created through the service layer in {created:.1f} s; "
        f"{PORTALS} portals x {len(languages)} languages ({', '.join(languages)}: the only "
        f"ones in LANGUAGES — the issue asks for 5); half of the contacts match."
    )
    batched = evaluate(org, BATCH, None, profile=bool(os.environ.get("BENCH_PROFILE")))
    sent = send_all(org)
    reset(org)
    single = evaluate(org, 1, REFERENCE)
    print(f"{'':34}{'events/s':>10}{'statements/batch':>18}{'events':>8}")
    print(
        f"{f'batches of {BATCH} (this code)':34}{batched['per_s']:>10.0f}"
        f"{batched['statements']:>18}{batched['events']:>8}"
    )
    print(
        f"{'batches of 1 (per-event reference)':34}{single['per_s']:>10.0f}"
        f"{single['statements']:>18}{single['events']:>8}"
    )
    print(
        f"goal >= {GOAL_EVENTS} events/s per worker process: "
        f"{'PASS' if batched['per_s'] >= GOAL_EVENTS else 'FAIL'} (in-process, no broker hop)"
    )
    print(
        f"invitations delivered to the SMTP sink: {sent['delivered']} of {sent['waiting']} "
        f"waiting, {sent['per_s']:.0f}/s (goal >= {GOAL_SENT}/s: "
        f"{'PASS' if sent['per_s'] >= GOAL_SENT else 'FAIL'}; one SMTP connection per message)"
    )
    print("not measured here: real relay + worker process, p50/p95 commit->mail at 100 events/s")


if __name__ == "__main__":
    main()
