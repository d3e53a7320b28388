"""The outbox drill (AUT-8, issue 20): real relay, worker and beat processes on PostgreSQL and
a Redis broker of the drill's own, while the test creates contacts without pause through the
real service, each in its own transaction. One thing breaks per phase:

1. the broker (a private redis-server) is killed for longer than the stale time, then
   started again, empty, on the same port;
2. one of two workers is SIGKILLed inside an event's transaction; the other goes on, and a
   new one replaces it;
3. the relay is SIGKILLed and started again;
4. every session on the test database is terminated (pg_terminate_backend), three times.

Each phase ends when every event written before its disruption ended is processed. Per phase
it prints the events written, processed and pending, the no-op deliveries (a worker handed an
event that was done already: its log line), the sweeper's re-sends and the latency
(processed_at - created_at). It asserts: nothing lost, nothing processed twice (one attempt
per event, and the drill's consumer saw each event exactly once), no-op deliveries at most 5 %
of the events, and a p95 latency within the phase's disruption plus 10 s."""

import math
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import pytest
import redis
from django.db import DatabaseError, InterfaceError, connection, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from records.models import RecordEvent
from records.services import contact_create
from tests.integration import drill_consumer
from tests.integration.drill_consumer import SLOW
from tests.workers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STALE_SECONDS = 3
SWEEP_SECONDS = 2
OUTAGE_SECONDS = 6  # the broker stays down twice the stale time
CREATE_EVERY = 0.08  # seconds between two contacts: a few hundred in the drill
CATCH_UP_SECONDS = 90  # generous: the machine may be loaded
DRILL_ENV = {
    # The workers' settings add the drill's consumer to RECORD_EVENT_CONSUMERS.
    "DJANGO_SETTINGS_MODULE": "tests.integration.drill_settings",
    "OUTBOX_STALE_SECONDS": str(STALE_SECONDS),
    "OUTBOX_SWEEP_SECONDS": str(SWEEP_SECONDS),
    "OUTBOX_LOG_SECONDS": "2",
}
NOOP = re.compile(r"Record event (\d+): nothing to do")
TASK = "process_record_events_task["
ENDED = ("] succeeded in", "] retry:", "] raised unexpected")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of the drill's own on a free loopback port, without persistence: killing
    it loses every queued message. The machine's shared Redis is never touched."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.tmp_path = tmp_path
        self.popen = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.log_path = self.tmp_path / f"redis-{self.starts}.log"
        with open(self.log_path, "w") as log:
            self.popen = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
                + ["--save", "", "--appendonly", "no", "--daemonize", "no"]
                + ["--dir", str(self.tmp_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        assert wait_for(lambda: self.answers() or self.popen.poll() is not None, 30)
        assert self.popen.poll() is None, self.log_path.read_text()

    def client(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=2
        )

    def answers(self) -> bool:
        try:
            with self.client() as client:
                return client.ping()
        except redis.RedisError:
            return False

    def queued(self) -> int:
        with self.client() as client:
            return client.llen("celery")

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def real_broker(private_redis):
    """Overrides tests.workers' fixture: the relay, workers and beat use the private broker.
    The test itself publishes nothing (saves only write the outbox row)."""
    return private_redis.url


@pytest.fixture
def drill_table(transactional_db):
    """Set up before, and so dropped after, the worker processes (fixtures end in reverse)."""
    with connection.cursor() as cursor:
        cursor.execute(drill_consumer.CREATE_TABLE)
    yield
    with connection.cursor() as cursor:
        cursor.execute(drill_consumer.DROP_TABLE)


class Creator(threading.Thread):
    """Creates contacts through the real service, one transaction each, every CREATE_EVERY
    seconds; a lost database session is counted and the next contact opens a new one."""

    def __init__(self, org, actor):
        super().__init__(name="drill-creator", daemon=True)
        self.org, self.actor = org, actor
        self.created = self.errors = 0
        self.slow_next = False
        self.failure = None
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            next_at = time.monotonic()
            while not self._stopping.is_set():
                number = self.created + self.errors
                name, self.slow_next = (SLOW if self.slow_next else f"Drill {number}"), False
                try:
                    with transaction.atomic(), scope(org=self.org):
                        contact_create(
                            org=self.org,
                            actor=self.actor,
                            data={"last_name": name, "email": f"d{number}@drill.test"},
                        )
                    self.created += 1
                except (DatabaseError, InterfaceError):
                    self.errors += 1
                    connection.close()
                next_at = max(next_at + CREATE_EVERY, time.monotonic())
                self._stopping.wait(next_at - time.monotonic())  # the pace, not a sync
        except Exception as error:  # reported by the test
            self.failure = error
        finally:
            connection.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *_exc):
        self._stopping.set()
        self.join(timeout=60)


@dataclass
class Phase:
    name: str
    start: datetime
    end: datetime | None = None
    down: float = 0.0  # seconds the broken part was down (what latency may add)
    recovered: float = 0.0  # seconds from the repair until every earlier event was processed
    pending_at_repair: int = 0
    latency_p95: float = 0.0
    notes: list[str] = field(default_factory=list)


def pending_count() -> int:
    with scopes_disabled():
        return RecordEvent.objects.filter(processed_at__isnull=True).count()


def processed_up_to(mark: datetime) -> bool:
    with scopes_disabled():
        return not RecordEvent.objects.filter(
            created_at__lte=mark, processed_at__isnull=True
        ).exists()


def catch_up(phase: Phase, repaired: float, logs) -> None:
    """The repair is done: wait until every event written until now is processed."""
    mark = timezone.now()
    phase.pending_at_repair = pending_count()
    assert wait_for(lambda: processed_up_to(mark), CATCH_UP_SECONDS, 0.1), (
        f"{phase.name}: events written before the repair still pending\n{logs()}"
    )
    phase.recovered = time.monotonic() - repaired
    phase.end = timezone.now()


def flows_again(mark: datetime, logs) -> None:
    """Wait until an event written after `mark` is processed: relay and worker are back."""
    with scopes_disabled():
        later = RecordEvent.objects.filter(created_at__gt=mark, processed_at__isnull=False)
        assert wait_for(later.exists, CATCH_UP_SECONDS, 0.1), logs()


def held(proc) -> int:
    """Event tasks the worker received and has not finished (its log says)."""
    lines = [line for line in proc.log().splitlines() if TASK in line]
    started = sum("] received" in line for line in lines)
    return started - sum(any(end in line for end in ENDED) for line in lines)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def terminate_test_sessions() -> int:
    """pg_terminate_backend on every other session of the TEST database; ours survives."""
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        return sum(1 for (done,) in cursor.fetchall() if done)


def test_aut8_outbox_drill_loses_nothing_and_processes_nothing_twice(
    drill_table, org_a, admin_a, private_redis, start_celery, start_relay, tmp_path
):
    started = time.monotonic()
    env = {**DRILL_ENV, "DRILL_DIR": str(tmp_path)}
    workers = [start_celery("worker", name=f"worker-{n}", **env) for n in (1, 2)]
    live_workers = list(workers)
    start_celery("beat", **env)
    relays = [start_relay(**env)]

    def logs() -> str:
        return "\n".join(
            f"--- {proc.log_path.name}\n{proc.log()[-6000:]}" for proc in workers + relays
        )

    # 0. Steady: the pipeline flows.
    phase = Phase("steady", timezone.now())
    phases = [phase]
    with Creator(org_a, admin_a) as creator:
        with scopes_disabled():
            assert wait_for(
                lambda: RecordEvent.objects.filter(processed_at__isnull=False).count() >= 50,
                CATCH_UP_SECONDS,
            ), logs()
        catch_up(phase, time.monotonic(), logs)

        # 1. The broker dies, stays down longer than the stale time, comes back empty.
        phase = Phase("broker down", phase.end)
        phases.append(phase)
        down_at = time.monotonic()
        private_redis.kill()
        # The outage is a measured wait; the creator keeps writing contacts meanwhile.
        wait_for(lambda: time.monotonic() - down_at >= OUTAGE_SECONDS, OUTAGE_SECONDS + 5)
        assert wait_for(lambda: "could not publish" in relays[0].log(), 30), logs()
        private_redis.start()  # waits until PING answers
        phase.down = time.monotonic() - down_at
        catch_up(phase, time.monotonic(), logs)

        # 2. A worker is SIGKILLed mid-event (inside the transaction of the contact named SLOW);
        # the other one goes on, and a new one replaces it.
        phase = Phase("worker killed", phase.end)
        phases.append(phase)
        creator.slow_next = True

        def holding():
            return next((w for w in live_workers if drill_consumer.HOLDING in w.log()), None)

        assert wait_for(holding, CATCH_UP_SECONDS, 0.05), logs()
        victim = holding()
        down_at = time.monotonic()
        victim.popen.kill()
        victim.popen.wait()
        live_workers.remove(victim)
        phase.notes.append(f"{victim.log_path.stem} killed holding {held(victim)} task(s)")
        live_workers.append(start_celery("worker", name="worker-3", **env))
        workers.append(live_workers[-1])
        phase.down = time.monotonic() - down_at
        catch_up(phase, time.monotonic(), logs)

        # 3. The relay is SIGKILLed and started again.
        phase = Phase("relay killed", phase.end)
        phases.append(phase)
        down_at = time.monotonic()
        relays[-1].popen.kill()
        relays[-1].popen.wait()
        relays.append(start_relay(**env))  # waits for "Outbox relay started"
        phase.down = time.monotonic() - down_at
        catch_up(phase, time.monotonic(), logs)

        # 4. Every session on the test database is cut, three times.
        phase = Phase("sessions cut", phase.end)
        phases.append(phase)
        for _round in range(3):
            relay = relays[-1]
            reconnects = relay.log().count("reconnecting")
            phase.notes.append(f"{terminate_test_sessions()} sessions terminated")
            assert wait_for(
                lambda relay=relay, n=reconnects: relay.log().count("reconnecting") > n, 30
            ), logs()
            flows_again(timezone.now(), logs)  # before the next cut, or it finds no session
        with connection.cursor() as cursor:  # ours survived
            cursor.execute("SELECT 1")
        catch_up(phase, time.monotonic(), logs)
    assert creator.failure is None, creator.failure
    assert not creator.is_alive()
    phases[-1].end = timezone.now()

    # Everything written is processed, and the queue is drained (late copies delivered).
    assert wait_for(lambda: pending_count() == 0, CATCH_UP_SECONDS, 0.2), logs()
    assert wait_for(lambda: private_redis.queued() == 0, CATCH_UP_SECONDS, 0.2), logs()
    for proc in live_workers:  # each has finished what it took
        assert wait_for(lambda proc=proc: held(proc) == 0, CATCH_UP_SECONDS), logs()

    with scopes_disabled():
        events = list(
            RecordEvent.objects.order_by("pk").values(
                "pk", "created_at", "processed_at", "attempts", "resent_count", "failed_at"
            )
        )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT event_id, count(*) FROM {drill_consumer.TABLE} GROUP BY event_id")
        seen = dict(cursor.fetchall())
    noops: dict[int, int] = {}
    for proc in workers:
        for event_id in NOOP.findall(proc.log()):
            noops[int(event_id)] = noops.get(int(event_id), 0) + 1

    print(
        f"\nOutbox drill: {len(events)} events, {creator.errors} contacts refused by a cut "
        f"session, stale {STALE_SECONDS} s, sweep every {SWEEP_SECONDS} s, "
        f"{time.monotonic() - started:.0f} s in all"
    )
    columns = "phase secs written processed pending no-ops re-sends p50_s p95_s down_s"
    columns += " caught_up pend@fix"
    line = "{:<14}" + "{:>10}" * 11
    print(line.format(*columns.split()))
    for phase in phases:
        mine = [e for e in events if phase.start <= e["created_at"] < phase.end]
        done = [e for e in mine if e["processed_at"] is not None]
        latency = [(e["processed_at"] - e["created_at"]).total_seconds() for e in done]
        phase.latency_p95 = percentile(latency, 0.95)
        figures = [
            f"{(phase.end - phase.start).total_seconds():.0f}",
            len(mine),
            len(done),
            len(mine) - len(done),
            sum(noops.get(e["pk"], 0) for e in mine),
            sum(e["resent_count"] for e in mine),
            f"{percentile(latency, 0.5):.2f}",
            f"{phase.latency_p95:.2f}",
            f"{phase.down:.1f}",
            f"{phase.recovered:.1f}",
            phase.pending_at_repair,
        ]
        notes = f"  ({'; '.join(phase.notes)})" if phase.notes else ""
        print(line.format(phase.name, *figures) + notes)

    ids = {e["pk"] for e in events}
    assert len(events) >= 200, "a few hundred contacts"
    # Nothing lost: every event processed, none failed.
    assert [e["pk"] for e in events if e["processed_at"] is None or e["failed_at"]] == []
    # Nothing processed twice: one attempt each, and the consumer saw each event once.
    assert [e["pk"] for e in events if e["attempts"] != 1] == []
    assert set(seen) == ids
    assert {pk: n for pk, n in seen.items() if n != 1} == {}
    # The event the killed worker held was rolled back, re-sent by the sweeper, done once.
    with scopes_disabled():
        slow = RecordEvent.objects.get(changes__last_name__1=SLOW)
    assert slow.resent_count >= 1 and slow.attempts == 1 and seen[slow.pk] == 1
    # No storm of no-op deliveries.
    assert sum(noops.values()) <= 0.05 * len(events), noops
    # Latency: a phase's p95 within what was down plus 10 s.
    for phase in phases:
        assert phase.latency_p95 <= phase.down + 10, (phase.name, phase.latency_p95)
