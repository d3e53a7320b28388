"""Auto-invite throughput (issue 13, Speed; AUT-8, AUT-12): prints figures beside the
per-event reference and the goals, asserts nothing.

What runs: BENCH_CONTACTS (default 10,000) contacts created through the service layer
(records.services.contact_create: contact + RecordEvent) in an org with 10 portals, each with an
enabled rule: common conditions "subscription is paid" and "department is Dept <n>" (n = the
portal's number), then five languages in order: ja if "country is JP", fr if FR, de if DE, es
if ES, else en. Half of the contacts are paid, and the
paid ones are spread over the 10 departments, so the 10 rules PARTITION the matching half:
each matching contact meets the conditions of exactly one portal and gets ONE invitation
(10,000 contacts: 5,000 invitations; 100 events/s ask ~50 mails/s). Before this branch every
matching contact matched all 10 portals (10 invitations each: 100 events/s asked 500 mails/s,
above the delivery goal, so the latency goal could not be met by construction); the issue
says "10 portals x 5 languages of rules (half of the contacts match)". The five languages are
those the invitation mail ships in (portals.default_emails: en, ja, fr, de, es); the portals
are created here offering all five — the admin UI offers the two languages of the app's own
interface (settings.LANGUAGES: en, ja). The matching contacts are spread over JP, FR, DE, ES
and US, so each language's mail goes out and a contact evaluates up to five language
condition sets after the common ones. Then, for
batches of 500 events (this code: OUTBOX_TASK_BATCH_SIZE's default; delivery tasks of 100
mails) and of 1 (the reference: a task per event, a task per mail):
- in this process, counted with CaptureQueriesContext: the statements of one evaluation batch
  and of the sender inviting 100 waiting portal users with their delivery run eagerly;
- the real thing: `manage.py outbox_relay` and ONE Celery worker process (solo pool) on Redis
  (REDIS_URL / CELERY_BROKER_URL, else db 12/13) and this run's PostgreSQL database, mail to an
  aiosmtpd sink in this process, in three phases (the worker restarted between them):
  1. evaluation: every event pending, the sender's rate 0: events evaluated/s per worker
     process (from the first to the last processed_at);
  2. delivery: one sender task takes BENCH_SENDS (default 5,000; reference
     BENCH_REFERENCE_SENDS, 500) of the ~5,000 waiting portal users (at most those waiting;
     the per-org rate set to that): invitations delivered/s (first to last arrival at the
     sink);
  3. steady: contacts created here at 100 a second for BENCH_STEADY_SECONDS (10), the rate
     lifted: p50/p95 from each matching contact's commit to its mail at the sink (">" when
     not all arrived within 5 minutes).
The reference evaluates BENCH_REFERENCE events (1,000) to keep the run short.

Where the time went (profiled with cProfile, 100-event batches and a sender run of 100-300
invitations, on this 2-core machine at load average 5-7; before this branch):
- evaluation, 232 events/s (105/s at load 6): per batch of 100 events, 500 portal users were
  built as model instances (~30% of the time) and written by bulk_create, whose SQL compiler
  prepares 16 values per row (another ~35%: 112,000 prepare_value calls per 1,400 events);
  condition evaluation ~13% (each call rebuilt the field-spec dict and a list of operators);
  the rest is the 10 statements' round trips (the Contact + Account read, the facts, the
  commit). Now: the portal users are one INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO
  NOTHING (no instances, no compiler), the spec lookup is cached per spec list: ~6x.
- sending, 15 invitations/s (7/s at load 6): ~14 statements per invitation (invitation_for:
  read, lock, INSERT, UPDATE of the portal user; invitation_send: UPDATE; the template read
  per mail; portal.org read per mail; the delivery task: 2 reads + 1 INSERT), a Celery task
  and a new SMTP connection per mail (~23 ms each: connect, EHLO, QUIT). Token hashing
  (sha256) is negligible (<0.1%); rendering ~10 ms a mail (the CSS inliner and the layout
  template), then the URL resolver populated once (~2 s, once per process). Now: the claimed
  batch is invited in a fixed number of statements (one INSERT of invitations, one UPDATE
  linking them, the templates read once per batch), one delivery task per 100 mails over
  ONE SMTP connection, and per mail only the DeliveryAttempt INSERT, written before the next
  mail goes (a worker killed mid-batch re-sends at most the mail in flight, as before).
  Still per mail: rendering (the body holds the contact's merge fields and its own link) and
  that INSERT — at 5-7 ms per commit on this loaded machine it is now the sender's ceiling.

Where the time went next (branch ai-speed; cProfile, CPU time and statement counts in one
process against an aiosmtpd sink in a process of its own; load average 3-5 from other jobs):
- delivery: rendering is no longer on the delivery path — the sender renders each mail
  (~1 ms: the layout template, the CSS inliner ~0.1 ms, nh3) before its transaction commits,
  and the delivery task only sends payloads. Per mail in the delivery task: the MIME bytes
  (EmailMessage.message().as_bytes, mostly header folding) ~0.7 ms, the SMTP exchange with
  the sink ~2 ms (MAIL, RCPT, DATA, the data: four round trips), the DeliveryAttempt record
  ~3.9 ms through the ORM (instance, INSERT … RETURNING, commit) or ~2.8 ms as one plain
  INSERT. So per-batch rendering with substituted merge values would not move this figure,
  and was not done. Since then main records each attempt twice (issue 16: "sending" before
  the mail goes, in an INSERT that re-checks the send is current, then its outcome): two
  commits a mail (281 mails/s at load 2-3 here, 214 statements for 100). Now both are one
  statement (a data-modifying WITH: the previous mail's "sent" and this mail's "sending",
  one commit a mail; 115 statements for 100), written in a helper thread on the worker's
  own connection (invitations.delivery.AttemptRecords) while this mail goes out up to, not
  including, the line that ends its data; that line (the moment the server accepts the
  mail) waits for the commit, and a send found replaced drops the unfinished mail with the
  connection. A worker SIGKILLed mid-batch therefore still re-sends at most the mail in
  flight (a server that never got the end of the data delivers nothing; tests/invitations/
  test_delivery.py checks, from another connection, that each mail is accepted only once
  the one before is committed). The SMTP socket gets TCP_NODELAY: the end of the data is a
  second small write with no reply between, which Nagle's algorithm held until the server's
  delayed ACK (~40 ms a mail: 20 mails/s in the first try).
- evaluation: condition evaluation was ~35% of a batch's time under the profiler
  (condition_set_evaluate re-reading every row, operator and pattern for each contact and
  rule); each rule's sets are now compiled once per process into closures
  (records.conditions.condition_set_compile, which condition_set_evaluate itself uses, so
  the property tests against the SQL cover it): ~5x less in that part. The contacts are read
  without their account (nothing used it), and a task takes 500 events
  (OUTBOX_TASK_BATCH_SIZE, was 100): the same 11 statements for 5x the events. In one
  process, without the relay and Celery, 2,400-2,900 events/s at 100 a batch and
  2,800-3,800 at 500 (1,800-1,900 before, at 100).
- commit -> mail at 100 events/s, timed stage by stage for 250 matching contacts over 5 s
  (each contact's commit, its event's enqueued_at and processed_at, its portal user, its
  invitation, its DeliveryAttempt, its arrival): before, p50 18 s / p95 23 s — the relay
  published a task per NOTIFY (one or two events each), every evaluation batch queued a
  sender task of its own and every sender run a delivery task: ~200 tasks a second for one
  solo worker, whose queue grew (events processed 6.4 s after their commit at the median).
  Now the relay, once woken by a NOTIFY, waits OUTBOX_RELAY_GATHER_SECONDS (0.1) for the
  events committed just after it, and an evaluation batch queues the org's sender only when
  none is queued and not yet started (a cache mark the sender forgets before it reads who
  waits): p50 / p95 enqueued 0.06 / 0.11 s, processed 0.25 / 0.35 s, invited 0.39 / 0.57 s,
  mail at the sink 0.61 / 0.79 s (load 3.5). What is left is a solo worker's three tasks a
  round (evaluation, sender, delivery: ~20-30 ms each at load 4 for 10 events / 5 mails);
  the sender read a template per portal and language (19 statements for 5 mails to 5
  portals), now the org's templates of the kind in one query (10 statements whatever the
  portals). A shorter gather (0.05 s) made more, smaller tasks and the worker fell behind
  under load (p95 4.3 s at load 4.4); a longer one (0.25 s) gave p95 1.2 s at load 4.

Database: a throwaway PostgreSQL database `crm_portal_bench_ai_<pid>` on the server of
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), dropped at the end.

Run:  make bench      or      .venv/bin/python benchmarks/autoinvite_throughput.py
Tiny (tests/test_bench_smoke.py): BENCH_CONTACTS=200 BENCH_REFERENCE=50 BENCH_SENDS=200
BENCH_REFERENCE_SENDS=50 BENCH_STEADY_SECONDS=2
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from _bench_db import database_admin, with_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONTACTS = int(os.environ.get("BENCH_CONTACTS") or 10_000)
REFERENCE = int(os.environ.get("BENCH_REFERENCE") or 1_000)  # events, batch size 1
SENDS = int(os.environ.get("BENCH_SENDS") or 5_000)  # invitations timed (of ~50,000 waiting)
REF_SENDS = int(os.environ.get("BENCH_REFERENCE_SENDS") or 500)
STEADY_SECONDS = float(os.environ.get("BENCH_STEADY_SECONDS") or 10)
STEADY_RATE = 100  # events a second
PORTALS = 10
BATCH = 500  # events a task: OUTBOX_TASK_BATCH_SIZE's default
DELIVERY_BATCH = 100  # mails a delivery task: INVITATION_DELIVERY_BATCH_SIZE's default
SENDER_COUNTED = 100  # portal users the counted sender run invites
GOAL_EVENTS = 2000
GOAL_SENT = 350
SERVER = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
# Redis: the caller's (a test run's own databases), else two of its own.
REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12"
BROKER = os.environ.get("CELERY_BROKER_URL") or ""
if not BROKER.startswith("redis://"):
    BROKER = "redis://127.0.0.1:6379/13"


def environment(name: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="crm_portal.settings",
        DEBUG="true",
        SECRET_KEY="benchmark-only-secret-key",
        DATABASE_URL=with_database(SERVER, name),
        REDIS_URL=REDIS,
        CELERY_BROKER_URL=BROKER,
        CACHE_KEY_PREFIX=f"bench-ai-{os.getpid()}",
        CELERY_TASK_ALWAYS_EAGER="false",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
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
    for n in range(PORTALS):
        paid = {
            "conditions": [
                {"field": "subscription", "op": "is", "value": "paid"},
                {"field": "department", "op": "is", "value": department(n)},
            ]
        }
        with scopes_disabled():
            portal = Portal.objects.create(
                org=org, name=f"Portal {n}", slug=f"p{n}", languages=list(LANGUAGES)
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
                        "language": language,
                        "conditions": {
                            "conditions": (
                                [{"field": "country", "op": "is", "value": country}]
                                if country
                                else []
                            ),
                            "pattern": "",
                        },
                    }
                    for language, country in LANGUAGES.items()
                ],
            )
    with scopes_disabled():
        actor = CrmUser.objects.get(org=org, is_super_admin=True)
    return org, actor


# The rules' languages in order, each with the country that chooses it (en: the rest).
LANGUAGES = {"ja": "JP", "fr": "FR", "de": "DE", "es": "ES", "en": ""}
COUNTRIES = ["JP", "FR", "DE", "ES", "US"]


def department(n: int) -> str:
    """The department of portal n's rule: the 10 rules partition the matching contacts."""
    return f"Dept {n % PORTALS}"


def contact_data(n: int, last_name: str, email: str) -> dict:
    """Contact n: every other one paid (matching), the matching ones spread over the 10
    portals' departments (each meets exactly one portal's rule) and, across them, over five
    countries (one per language)."""
    return {
        "last_name": last_name,
        "email": email,
        "subscription": "paid" if n % 2 == 0 else "free",
        "department": department(n // 2),
        "country": COUNTRIES[(n // 2 // PORTALS) % len(COUNTRIES)],
    }


def create_contacts(org, actor, count: int) -> float:
    from django_scopes import scope

    from records.services import contact_create

    started = time.perf_counter()
    with scope(org=org):
        for n in range(count):
            contact_create(
                org=org, actor=actor, data=contact_data(n, f"Mori{n}", f"c{n}@example.jp")
            )
    return time.perf_counter() - started


def reset(org, *, keep_pending: int | None = None) -> None:
    """Back to "nobody invited": portal users, their invitations and attempts, failures and
    counts gone; the first `keep_pending` events (all when None) pending again, the rest done."""
    from django.db import connection
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from invitations.models import Invitation
    from portals.models import AutoInviteDay, FailedInvitation, PortalUser
    from records.models import RecordEvent

    with scopes_disabled():
        PortalUser.objects.filter(org=org).delete()
        Invitation.objects.filter(org=org).delete()
        FailedInvitation.objects.filter(org=org).delete()
        AutoInviteDay.objects.filter(org=org).delete()
        events = RecordEvent.objects.filter(org=org)
        ids = list(events.order_by("pk").values_list("pk", flat=True))
        pending = ids if keep_pending is None else ids[:keep_pending]
        events.update(processed_at=timezone.now(), enqueued_at=timezone.now())
        events.filter(pk__in=pending).update(processed_at=None, enqueued_at=None, attempts=0)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def statements(org, size: int, sink_port: int) -> dict:
    """In this process, counted with CaptureQueriesContext: one evaluation batch of `size`
    events (records.outbox.record_events_process), and the sender inviting 100 waiting portal
    users with their delivery tasks run eagerly (to the sink)."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scope, scopes_disabled

    from crm_portal.celery import app as celery_app
    from portals.autoinvite import auto_invites_send
    from records.models import RecordEvent
    from records.outbox import record_events_process

    with scopes_disabled():
        ids = list(
            RecordEvent.objects.filter(org=org, processed_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[: max(size, 2 * SENDER_COUNTED)]
        )
    settings.INVITATION_DELIVERY_BATCH_SIZE = DELIVERY_BATCH if size > 1 else 1
    settings.AUTO_INVITE_SENDS_PER_MINUTE = SENDER_COUNTED
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink_port
    with scope(org=org):
        with CaptureQueriesContext(connection) as evaluation:
            record_events_process(event_ids=ids[:size])
        # the other events, in batches of `size`: half match, so 100 portal users wait
        for start in range(size, len(ids), size):
            record_events_process(event_ids=ids[start : start + size])
        celery_app.conf.task_always_eager = True
        try:
            with CaptureQueriesContext(connection) as sending:
                sent = auto_invites_send(org=org)
        finally:
            celery_app.conf.task_always_eager = False
    return {"evaluation": len(evaluation), "sending": len(sending), "sent": sent}


# The shipped "Accept invitation" subjects (portals.default_emails), by their language.
SUBJECT_WORDS = {
    "Your invitation": "en",
    "への招待": "ja",
    "Votre invitation": "fr",
    "Ihre Einladung": "de",
    "Su invitación": "es",
}


def subject_language(content: bytes) -> str:
    """The language of a mail at the sink, read off its subject; "?" if none matches."""
    from email.header import decode_header, make_header
    from email.parser import BytesHeaderParser

    raw = BytesHeaderParser().parsebytes(content).get("Subject", "")
    subject = str(make_header(decode_header(raw)))
    return next((lang for words, lang in SUBJECT_WORDS.items() if words in subject), "?")


class Sink:
    """aiosmtpd in this process: when each message arrived, by recipient."""

    def __init__(self):
        import threading

        from aiosmtpd.controller import Controller

        self.lock = threading.Lock()
        self.arrivals: list[tuple[str, float]] = []
        self.heads: list[bytes] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        now = time.time()
        with self.lock:
            for address in envelope.rcpt_tos:
                self.arrivals.append((address.lower(), now))
            self.heads.append(envelope.content[:4096])  # read after the timing (languages)
        return "250 OK"

    def languages(self) -> dict[str, int]:
        """How many mails arrived in each language, read off their subjects."""
        counts: dict[str, int] = {}
        with self.lock:
            heads = list(self.heads)
        for head in heads:
            language = subject_language(head)
            counts[language] = counts.get(language, 0) + 1
        return counts

    def since(self, mark: int) -> list[tuple[str, float]]:
        with self.lock:
            return list(self.arrivals[mark:])

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def processes_env(name: str, sink: Sink, batch: int, sends_per_minute: int) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DB_CONN_MAX_AGE": "60",
        "OUTBOX_TASK_BATCH_SIZE": str(batch),
        "INVITATION_DELIVERY_BATCH_SIZE": str(DELIVERY_BATCH if batch > 1 else 1),
        "AUTO_INVITE_SENDS_PER_MINUTE": str(sends_per_minute),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "OUTBOX_RELAY_POLL_SECONDS": "0.2",
    }
    env.pop("DEBUG", None)
    return env


CHILDREN: list = []


class Child:
    """A relay or a worker of this benchmark, its output in a temporary file."""

    def __init__(self, command: list[str], env: dict, ready: str):
        import tempfile

        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
        self.popen = subprocess.Popen(
            [sys.executable, *command], cwd=ROOT, env=env, stdout=self.log, stderr=self.log
        )
        CHILDREN.append(self)  # stopped at exit whatever happens (main's finally)
        deadline = time.monotonic() + 180
        while ready not in Path(self.log.name).read_text():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{command} did not start:\n{Path(self.log.name).read_text()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if not self.log.closed:
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)


def worker(env: dict) -> Child:
    command = ["-m", "celery", "-A", "crm_portal", "worker", "--pool=solo", "--without-gossip"]
    command += ["--without-mingle", "--without-heartbeat", "--loglevel=INFO", "-n", "bench@%h"]
    return Child(command, env, "ready.")


def relay(env: dict) -> Child:
    return Child(["manage.py", "outbox_relay"], env, "Outbox relay started")


def purge() -> None:
    """The queued tasks dropped, and with them the org's "sender queued" mark (portals.
    autoinvite.auto_invites_sender_wake) that a dropped sender task would leave behind."""
    from django.core.cache import cache

    from crm_portal.celery import app as celery_app
    from portals.autoinvite import sender_queued_key
    from users.models import Organization

    celery_app.control.purge()
    cache.delete_many(
        [sender_queued_key(pk) for pk in Organization.objects.values_list("pk", flat=True)]
    )


def until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def pending_events(org) -> int:
    from django_scopes import scopes_disabled

    from records.models import RecordEvent

    with scopes_disabled():
        return RecordEvent.objects.filter(org=org, processed_at__isnull=True).count()


def waiting_portal_users(org) -> int:
    from django_scopes import scopes_disabled

    from portals.models import PortalUser

    with scopes_disabled():
        return PortalUser.objects.filter(org=org, auto_invite_waiting=True).count()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def end_to_end(org, actor, sink: Sink, *, batch: int, events: int, sends: int, label: str):
    """The relay and ONE worker process (solo pool) on Redis and PostgreSQL, three phases:
    1. evaluation: `events` pending events, the sender off (AUTO_INVITE_SENDS_PER_MINUTE=0):
       events/s = events / (last processed_at - first processed_at) + one batch's share;
    2. sending: one sender task takes `sends` waiting portal users (the rate set to that);
       invitations/s over the sink's arrivals (first to last);
    3. steady: contacts created here through the service layer at 100 a second for
       STEADY_SECONDS (the rate lifted): p50/p95 from each contact's commit to each of its
       mails at the sink."""
    from django.db.models import Max, Min
    from django_scopes import scopes_disabled

    from portals.autoinvite import send_auto_invites_task
    from records.models import RecordEvent

    result = {}
    reset(org, keep_pending=events)
    purge()
    the_relay = relay(processes_env("relay", sink, batch, 0))
    # 1. evaluation
    one = worker(processes_env("worker", sink, batch, 0))
    started = time.monotonic()
    done = until(lambda: pending_events(org) == 0, 900)
    wall = time.monotonic() - started
    one.stop()
    with scopes_disabled():
        span = RecordEvent.objects.filter(org=org, processed_at__isnull=False).aggregate(
            first=Min("processed_at"), last=Max("processed_at")
        )
    # The first batch's events share one processed_at: the span covers the others.
    spanned = (span["last"] - span["first"]).total_seconds()
    seconds = spanned * events / (events - batch) if events > batch else wall
    result["events_per_s"] = events / seconds if done and seconds > 0 else float("nan")
    result["events"] = events
    result["eval_wall"] = wall
    # 2. sending: at most the portal users phase 1 left waiting (one per matching contact)
    sends = min(sends, waiting_portal_users(org))
    purge()
    mark = sink.count()
    two = worker(processes_env("worker", sink, batch, sends))
    send_auto_invites_task.delay(org.pk)
    until(lambda: sink.count() - mark >= sends, 600)
    arrived = [at for _address, at in sink.since(mark)]
    two.stop()
    result["sent"] = len(arrived)
    spread = (max(arrived) - min(arrived)) if len(arrived) > 1 else float("nan")
    result["sent_per_s"] = (len(arrived) - 1) / spread if spread and spread > 0 else float("nan")
    # 3. steady 100 events/s
    reset(org, keep_pending=0)
    purge()
    mark = sink.count()
    three = worker(processes_env("worker", sink, batch, 1_000_000))
    commits = steady_contacts(org, actor, label)
    expected = sum(1 for address in commits if address.startswith(f"{label}-m"))
    until(lambda: sink.count() - mark >= expected, 300)
    delays = [at - commits[address] for address, at in sink.since(mark) if address in commits]
    three.stop()
    the_relay.stop()
    result["steady_mails"], result["steady_expected"] = len(delays), expected
    result["p50"], result["p95"] = percentile(delays, 0.5), percentile(delays, 0.95)
    result["steady_rate"] = len(commits) / STEADY_SECONDS
    return result


def steady_contacts(org, actor, label: str) -> dict[str, float]:
    """Contacts at 100 a second for STEADY_SECONDS, half matching; each address -> the epoch
    second its creation committed (contact_create's own transaction)."""
    from django_scopes import scope

    from records.services import contact_create

    commits = {}
    total = int(STEADY_SECONDS * STEADY_RATE)
    begin = time.monotonic()
    with scope(org=org):
        for n in range(total):
            pause = begin + n / STEADY_RATE - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            matching = n % 2 == 0
            address = f"{label}-{'m' if matching else 'x'}{n}@example.jp"
            contact_create(org=org, actor=actor, data=contact_data(n, f"Steady{n}", address))
            commits[address] = time.time()
    return commits


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
        for child in CHILDREN:
            child.stop()
        from django.db import connections

        connections.close_all()
        database_admin("drop", SERVER, name)


def run() -> None:
    from django.conf import settings

    settings.DEBUG = False  # no query log (CaptureQueriesContext keeps its own)
    org, actor = org_with_rules()
    created = create_contacts(org, actor, CONTACTS)
    print(
        f"{CONTACTS:,} contacts created through the service layer in {created:.1f} s; "
        f"{PORTALS} portals x {len(LANGUAGES)} languages of rules ({', '.join(LANGUAGES)}, "
        f"in that order; the mail ships in all five); half of the contacts match, each the "
        f"rule of exactly one portal (its department), so one invitation each: "
        f"{STEADY_RATE} events/s ask ~{STEADY_RATE // 2} mails/s.",
        flush=True,
    )
    sink = Sink()
    try:
        rows = {}
        for size, events, sends in ((BATCH, CONTACTS, SENDS), (1, REFERENCE, REF_SENDS)):
            reset(org)
            counted = statements(org, size, sink.port)
            figures = end_to_end(
                org, actor, sink, batch=size, events=events, sends=sends, label=f"b{size}"
            )
            rows[size] = {**counted, **figures}
    finally:
        sink.controller.stop()
    table(rows)
    spread = ", ".join(f"{lang} {count:,}" for lang, count in sorted(sink.languages().items()))
    print(f"Mails at the sink by language (every phase, both sides): {spread}")


def table(rows: dict) -> None:
    new, ref = rows[BATCH], rows[1]

    def steady(row, key):
        late = row["steady_mails"] < row["steady_expected"]
        return f"{'>' if late else ''}{row[key]:.2f}"

    def pair(row):
        return f"{row['steady_mails']}/{row['steady_expected']}"

    lines = [
        ("events evaluated/s, 1 worker process", "events_per_s", ">= 2,000", "{:.0f}"),
        ("invitations delivered/s", "sent_per_s", ">= 350", "{:.0f}"),
        ("statements per evaluation batch", "evaluation", "fixed", "{}"),
        ("statements, sender + delivery of 100", "sending", "", "{}"),
        ("events evaluated (phase 1)", "events", "", "{:,}"),
        ("invitations delivered (phase 2)", "sent", "", "{:,}"),
    ]
    print()
    print(f"{'':40}{f'batches of {BATCH}':>16}{'batch size 1':>16}   goal")
    print(f"{'':40}{'(this code)':>16}{'(reference)':>16}")
    for title, key, goal, shape in lines:
        print(f"{title:40}{shape.format(new[key]):>16}{shape.format(ref[key]):>16}   {goal}")
    title = f"steady {STEADY_RATE} events/s for {STEADY_SECONDS:g} s, achieved"
    print(f"{title:40}{new['steady_rate']:>14.0f}/s{ref['steady_rate']:>14.0f}/s")
    print(f"{'  commit -> mail p50 (s)':40}{steady(new, 'p50'):>16}{steady(ref, 'p50'):>16}")
    print(f"{'  commit -> mail p95 (s)':40}{steady(new, 'p95'):>16}{steady(ref, 'p95'):>16}   < 1")
    print(f"{'  mails at the sink / expected':40}{pair(new):>16}{pair(ref):>16}")
    verdicts = [
        ("evaluation", new["events_per_s"] >= GOAL_EVENTS),
        ("delivery", new["sent_per_s"] >= GOAL_SENT),
        ("commit->mail p95", new["p95"] < 1 and new["steady_mails"] >= new["steady_expected"]),
    ]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        "Goals (this code): "
        + ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in verdicts)
        + f"; load average {load} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
