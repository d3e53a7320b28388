"""The operations drill (issue 16, AUT-8, X-5): the whole topology on loopback — a private
PostgreSQL and Redis, gunicorn with 2 workers, the outbox relay, 2 Celery workers, beat and an
SMTP sink — fed through the JSON API while one thing breaks per phase:

1. Redis is stopped while 200 contacts are created through the API, then started (empty);
2. a worker is SIGKILLed in the middle of a batch of 500 contacts, and replaced;
3. PostgreSQL is restarted while contacts keep arriving: /healthz answers 503 while it is
   down, the API answers 503 (never 500), and everything recovers without a restart;
4. the relay is SIGKILLed, contacts are saved meanwhile, and it is started again;
5. a pg_dump / pg_restore round trip of the database holds every row.

Each phase ends when every event written during it is processed; nothing may be lost. The
drill prints its figures (events, processed, lost, re-deliveries, p95 commit → processed) as
its last lines."""

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from email.header import decode_header, make_header

import pytest

from tests.integration.topology import (
    MailSink,
    PrivatePostgres,
    PrivateRedis,
    Topology,
    kill,
    percentile,
)
from tests.workers import wait_for

pytestmark = pytest.mark.integration

CATCH_UP_SECONDS = 180  # a loaded 2-core machine: waiting it out only costs time when broken
# One org with a portal whose auto-invite rule matches every contact with an email address:
# paid contacts in Japan get the Japanese invitation, the others the English one.
SETUP = """
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from portals.models import AutoInviteRule
from records.api import api_token_create
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.users.factories import CrmUserFactory, OrganizationFactory
with scopes_disabled():
    org = OrganizationFactory(name="Drill", slug="drill")
    admin = CrmUserFactory(org=org, is_super_admin=True)
    portal = PortalFactory(org=org, name="Help", slug="help", languages=["en", "ja"])
    group = UserGroupFactory(portal=portal, name="Customers")
    japan = {"conditions": [{"field": "country", "op": "is", "value": "JP"}], "pattern": ""}
    AutoInviteRule.objects.create(
        org=org, portal=portal, group=group, is_enabled=True, enabled_at=timezone.now(),
        trigger=AutoInviteRule.Trigger.CREATE,
        language_mode=AutoInviteRule.LanguageMode.MULTIPLE,
        common_conditions={"conditions": [{"field": "email", "op": "not_empty", "value": None}],
                           "pattern": ""},
        languages=[{"language": "ja", "conditions": japan},
                   {"language": "en", "conditions": {"conditions": [], "pattern": ""}}],
    )
with scope(org=org):
    print("TOKEN=" + api_token_create(org=org, actor=admin, name="Drill")[1])
"""


@dataclass
class Phase:
    name: str
    first_event: int
    created: int = 0
    answers: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)


class Drill:
    def __init__(self, topology: Topology, postgres: PrivatePostgres, token: str, sink: MailSink):
        self.topology = topology
        self.postgres = postgres
        self.token = token
        self.sink = sink
        self.phases: list[Phase] = []
        self.serial = 0
        self._lock = threading.Lock()

    # --- talking to the app, as a client would ---------------------------------------------

    def request(self, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.topology.base_url + path,
            data=data,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw or b"{}")
            except ValueError:
                return error.code, {"raw": raw[:200].decode(errors="replace")}
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            return 0, {"error": str(error)}

    def health(self) -> tuple[int, dict]:
        return self.request("/healthz")

    def create_contact(self, phase: Phase) -> int:
        with self._lock:
            self.serial += 1
            serial = self.serial
        country = "JP" if serial % 2 else "FR"
        status, _body = self.request(
            "/api/v1/contacts/",
            {
                "last_name": f"Drill{serial}",
                "email": f"drill{serial}@example.com",
                "country": country,
            },
        )
        with self._lock:
            phase.answers[status] = phase.answers.get(status, 0) + 1
            if status == 201:
                phase.created += 1
        return status

    def create_many(self, phase: Phase, count: int, threads: int = 4) -> None:
        left = iter(range(count))
        lock = threading.Lock()

        def run():
            while True:
                with lock:
                    if next(left, None) is None:
                        return
                self.create_contact(phase)

        pool = [threading.Thread(target=run) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()

    # --- reading the database ----------------------------------------------------------------

    def last_event(self) -> int:
        return self.postgres.execute("SELECT coalesce(max(id), 0) FROM records_recordevent")[0][0]

    def counts(self, phase: Phase) -> tuple[int, int, int]:
        row = self.postgres.execute(
            "SELECT count(*), count(processed_at), count(failed_at) FROM records_recordevent "
            "WHERE id > %s",
            [phase.first_event],
        )[0]
        return tuple(row)

    def settled(self, phase: Phase) -> bool:
        try:
            events, processed, failed = self.counts(phase)
        except Exception:  # the database is restarting
            return False
        if events < phase.created or processed + failed != events:
            return False
        return self.invited_addresses(phase) <= set(self.sink.recipients())

    def invited_addresses(self, phase: Phase) -> set[str]:
        """The addresses of the contacts created in the phase: each must get its invitation."""
        rows = self.postgres.execute(
            "SELECT lower(c.email) FROM records_recordevent e "
            "JOIN records_contact c ON c.id = e.record_id "
            "WHERE e.id > %s AND e.kind = 'create' AND e.module = 'contacts'",
            [phase.first_event],
        )
        return {row[0] for row in rows}

    # --- phases --------------------------------------------------------------------------------

    def begin(self, name: str) -> Phase:
        phase = Phase(name=name, first_event=self.last_event())
        self.phases.append(phase)
        return phase

    def finish(self, phase: Phase) -> None:
        settled = wait_for(lambda: self.settled(phase), timeout=CATCH_UP_SECONDS, interval=0.5)
        events, processed, failed = self.counts(phase)
        redelivered, p95 = self.postgres.execute(
            "SELECT count(*) FILTER (WHERE attempts > 1), "
            "coalesce(percentile_cont(0.95) WITHIN GROUP "
            "(ORDER BY extract(epoch FROM processed_at - created_at)), 0) "
            "FROM records_recordevent WHERE id > %s AND processed_at IS NOT NULL",
            [phase.first_event],
        )[0]
        wanted = self.invited_addresses(phase)
        mails = Counter(a for a in self.sink.recipients() if a in wanted)
        arrivals = self.sink.arrivals()
        commits = dict(
            self.postgres.execute(
                "SELECT lower(c.email), extract(epoch FROM e.created_at) "
                "FROM records_recordevent e JOIN records_contact c ON c.id = e.record_id "
                "WHERE e.id > %s AND e.kind = 'create' AND e.module = 'contacts'",
                [phase.first_event],
            )
        )
        delays = [arrivals[a] - float(commits[a]) for a in wanted if a in arrivals]
        phase.figures = {
            "created": phase.created,
            "invited": len(mails),
            "duplicates": sum(n - 1 for n in mails.values()),
            "twice": sorted(a for a, n in mails.items() if n > 1),
            "mail_p95_s": round(percentile(delays, 0.95), 2),
            "events": events,
            "processed": processed,
            "failed": failed,
            "lost": events - processed,
            "redelivered": redelivered,
            "p95_s": round(float(p95), 2),
            "answers": dict(sorted(phase.answers.items())),
        }
        assert settled, (phase.name, phase.figures, self.logs())
        assert events == phase.created, ("an answered 201 without its event", phase.figures)
        assert failed == 0 and processed == events, (phase.name, phase.figures)
        assert phase.figures["invited"] == len(wanted), ("an invitation lost", phase.figures)

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{proc.log()[-3000:]}" for name, proc in self.topology.processes.items()
        )

    def report(self) -> str:
        lines = [
            "phase                created events processed lost redeliv p95(s) invited dup "
            "mail p95(s) answers"
        ]
        for phase in self.phases:
            f = phase.figures
            lines.append(
                f"{phase.name:<20} {f['created']:>7} {f['events']:>6} {f['processed']:>9} "
                f"{f['lost']:>4} {f['redelivered']:>7} {f['p95_s']:>6} {f['invited']:>7} "
                f"{f['duplicates']:>3} {f['mail_p95_s']:>11} {f['answers']}"
            )
        return "\n".join(lines)


@pytest.fixture
def topology(tmp_path):
    postgres = PrivatePostgres()
    broker = PrivateRedis()
    sink = MailSink()
    topo = None
    try:
        postgres.start()
        postgres.execute("CREATE DATABASE drill", database="postgres")
        broker.start()
        sink.controller.start()
        topo = Topology(tmp_path, postgres, broker, sink)
        topo.manage("migrate", "--noinput")
        token = topo.manage("shell", "-c", SETUP).split("TOKEN=")[1].split()[0]
        topo.start_web()
        topo.start_relay()
        topo.start_worker()
        topo.start_worker()
        topo.start_beat()
        yield topo, postgres, broker, sink, token
    finally:
        if topo is not None:
            topo.stop_all()
        sink.controller.stop()
        broker.stop()
        postgres.remove()


def test_issue16_topology_drill_loses_nothing(topology):
    """Issue 16 (AUT-8, X-5): Redis down, a worker SIGKILLed mid-batch, PostgreSQL restarted
    under load, the relay killed, and a backup restored — no event lost, no 500 answered."""
    topo, postgres, broker, sink, token = topology
    drill = Drill(topo, postgres, token, sink)
    assert wait_for(lambda: drill.health()[0] == 200, timeout=60), drill.health()

    # 1. Redis stopped: the API still takes records; /healthz names the broker.
    phase = drill.begin("redis down")
    broker.stop()
    assert wait_for(lambda: drill.health()[1].get("broker") == "unavailable", timeout=30)
    drill.create_many(phase, 200)
    assert phase.answers == {201: 200}, phase.answers
    broker.start()
    drill.finish(phase)

    # 2. A worker SIGKILLed while a batch of 500 is being processed; a new one takes its place.
    phase = drill.begin("worker SIGKILL")
    feeder = threading.Thread(target=drill.create_many, args=(phase, 500))
    feeder.start()
    victim = topo.processes["worker-1"]
    assert wait_for(lambda: drill.counts(phase)[1] >= 50, timeout=CATCH_UP_SECONDS)
    kill(victim)
    topo.start_worker()
    feeder.join()
    drill.finish(phase)
    kills = 1
    assert phase.figures["duplicates"] <= kills, phase.figures
    # Each second copy shows in the delivery log: the attempt the killed worker was making.
    interrupted = topo.manage("delivery_log", "--interrupted")
    for address in phase.figures["twice"]:
        assert any(address in line for line in interrupted.splitlines()), (address, interrupted)

    # 3. PostgreSQL restarted under load: 503 while it is down (never 500), back by itself.
    phase = drill.begin("PostgreSQL restart")
    stop_feeding = threading.Event()

    def feed():
        while not stop_feeding.is_set():
            drill.create_contact(phase)

    feeder = threading.Thread(target=feed)
    feeder.start()
    assert wait_for(lambda: phase.created >= 20, timeout=60)
    postgres.stop()
    down = drill.health()
    assert down[0] == 503 and down[1].get("database") == "unavailable", down
    assert wait_for(lambda: phase.answers.get(503, 0) >= 3, timeout=60), phase.answers
    postgres.start()
    assert wait_for(lambda: drill.health()[0] == 200, timeout=90), drill.health()
    created_before = phase.created
    assert wait_for(lambda: phase.created >= created_before + 20, timeout=60), phase.answers
    stop_feeding.set()
    feeder.join()
    assert set(phase.answers) <= {201, 503}, phase.answers
    drill.finish(phase)

    # 4. The relay SIGKILLed; contacts saved meanwhile are delivered once it is back.
    phase = drill.begin("relay SIGKILL")
    kill(topo.processes["relay-1"])
    drill.create_many(phase, 100)
    topo.start_relay()
    drill.finish(phase)

    # 5. Backup and restore: pg_dump, pg_restore into a new database, every row there.
    tables = ["records_contact", "records_recordevent", "portals_portaluser"]
    tables += ["invitations_invitation", "users_crmuser", "records_apitoken"]
    started = time.monotonic()
    size = postgres.dump_and_restore("drill", "drill_restored")
    restore_seconds = time.monotonic() - started
    for table in tables:
        original = postgres.execute(f"SELECT count(*) FROM {table}")[0][0]
        restored = postgres.execute(f"SELECT count(*) FROM {table}", database="drill_restored")
        assert restored[0][0] == original, (table, original, restored)

    contacts = postgres.execute("SELECT count(*) FROM records_contact")[0][0]
    japanese = [m for m in sink.messages if str(m["To"]).startswith("drill1@")]
    subject = str(make_header(decode_header(japanese[0]["Subject"]))) if japanese else ""
    assert "招待" in subject, ("contact 1 is in Japan: the Japanese invitation", subject)
    for other in (p for p in drill.phases if p.name != "worker SIGKILL"):
        assert other.figures["duplicates"] == 0, other.figures
    print()
    print("delivery log, interrupted attempts (a second copy may have followed):")
    print(interrupted.rstrip())
    print(drill.report())
    print(
        f"backup: pg_dump + pg_restore of {contacts} contacts ({size // 1024} KB) "
        f"in {restore_seconds:.1f} s"
    )
