"""The outbox relay (REC-3, AUT-8): hands committed record events to the workers.

A record save only writes its RecordEvent row; nothing is published from the web process, so
the save path pays for one INSERT and no broker round trip. This relay, a process of its own
(`manage.py outbox_relay`), claims pending events in batches, marks them enqueued and publishes
one `process_record_events_task` per batch of one org's events (OUTBOX_TASK_BATCH_SIZE). On
PostgreSQL a trigger NOTIFYs channel "record_events" when an event's transaction commits, which
wakes the relay at once; it also looks every OUTBOX_RELAY_POLL_SECONDS, the only way on other
databases.

Failure cases: a relay that dies between marking and publishing, or a broker that loses a
message, leaves the event pending; beat's sweeper re-enqueues every event still pending after
OUTBOX_STALE_SECONDS. The worker's claim (SELECT … FOR UPDATE SKIP LOCKED on the event) makes a
second publish harmless. Several relays may run: each claims rows the others have not locked.
"""

import logging
import os
import select
import signal
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from .models import RecordEvent
from .outbox import broker_producer, log_backlog, record_events_publish

logger = logging.getLogger(__name__)

# The heartbeat file is touched at most this often; the healthcheck allows several times it.
HEARTBEAT_EVERY_SECONDS = 5
CHANNEL = "record_events"  # the trigger in migration 0008 notifies this channel


def record_events_relay(*, limit: int | None = None) -> int:
    """Publish up to `limit` committed events no relay has handed over yet; returns how many
    were published. The broker connection comes first: while the broker is down, nothing is
    claimed. When the broker refuses, the events not published are released for the next
    round and the error is raised."""
    limit = limit or settings.OUTBOX_RELAY_BATCH_SIZE
    with scopes_disabled():
        waiting = RecordEvent.objects.filter(processed_at__isnull=True, enqueued_at__isnull=True)
        if not waiting.exists():  # nothing to hand over: no need of the broker
            return 0
    with broker_producer() as producer:
        with transaction.atomic(), scopes_disabled():
            claimed = list(
                waiting.select_for_update(skip_locked=True)
                .order_by("created_at", "pk")
                .values_list("org_id", "pk")[:limit]
            )
            if not claimed:
                return 0
            RecordEvent.objects.filter(pk__in=[pk for _org, pk in claimed]).update(
                enqueued_at=timezone.now()
            )
        return record_events_publish(claimed, producer)


class Relay:
    """The relay loop: `run()` until `stop()` (or SIGTERM/SIGINT in the command)."""

    def __init__(self, *, poll_seconds: float | None = None):
        self.poll_seconds = (
            settings.OUTBOX_RELAY_POLL_SECONDS if poll_seconds is None else poll_seconds
        )
        self._stopping = threading.Event()
        self._listening = False
        self._last_backlog_log, self._handed_over = 0.0, 0
        self._last_heartbeat = -HEARTBEAT_EVERY_SECONDS
        # stop() writes here, so a wait (select) ends at once, even from a signal handler.
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)

    def stop(self, *_args) -> None:
        self._stopping.set()
        try:
            os.write(self._wake_write, b"x")
        except BlockingIOError:  # already woken
            pass

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self) -> None:
        logger.info("Outbox relay started (%s)", self._mode())
        while not self._stopping.is_set():
            try:
                self._listen()
                published = record_events_relay()
                self._heartbeat()
                self._log_backlog_now_and_then(published)
                # A full batch means there may be more: go again at once.
                if published < settings.OUTBOX_RELAY_BATCH_SIZE and self._wait():
                    self._gather()
            except DatabaseError as error:
                logger.warning("Outbox relay lost the database (%s); reconnecting", error)
                self._reset_connection()
                self._sleep()
            except Exception as error:  # the broker is down: the events wait, retry later
                logger.warning("Outbox relay could not publish (%s); retrying", error)
                self._sleep()
        connection.close()
        os.close(self._wake_read)
        os.close(self._wake_write)
        logger.info("Outbox relay stopped")

    def _heartbeat(self) -> None:
        """Touch OUTBOX_RELAY_HEARTBEAT_FILE, at most every few seconds, after a round that
        reached the database (and the broker, when events waited): the container's healthcheck
        reads its age, so a relay stuck or cut off turns unhealthy (issue 16)."""
        now = time.monotonic()
        if now - self._last_heartbeat < HEARTBEAT_EVERY_SECONDS:
            return
        self._last_heartbeat = now
        path = Path(settings.OUTBOX_RELAY_HEARTBEAT_FILE)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        except OSError as error:
            logger.warning("Outbox relay could not touch its heartbeat file %s: %s", path, error)

    def _log_backlog_now_and_then(self, published: int) -> None:
        """How far behind the workers are (AUT-8), at most every OUTBOX_LOG_SECONDS."""
        self._handed_over += published
        now = time.monotonic()
        if now - self._last_backlog_log >= settings.OUTBOX_LOG_SECONDS:
            log_backlog("Outbox relay", self._handed_over)
            self._last_backlog_log, self._handed_over = now, 0

    def _mode(self) -> str:
        if connection.vendor == "postgresql":
            return f"LISTEN {CHANNEL}, and every {self.poll_seconds:g} s"
        return f"polling every {self.poll_seconds:g} s"

    def _listen(self) -> None:
        if self._listening or connection.vendor != "postgresql":
            return
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {CHANNEL}")
        self._listening = True

    def _sleep(self, *watch: int) -> list:
        """Until the poll interval passes, stop() or one of the `watch` descriptors is ready."""
        if self._stopping.is_set():
            return []
        ready, _w, _x = select.select([self._wake_read, *watch], [], [], self.poll_seconds)
        return ready

    def _wait(self) -> bool:
        """Until a NOTIFY arrives (PostgreSQL), the poll interval passes or stop(); True when
        a NOTIFY came."""
        if not self._listening:
            self._sleep()
            return False
        pg = connection.connection
        with connection.wrap_database_errors:  # a lost session raises Django's DatabaseError
            # Notifications that came while we worked are waiting already: no need to sleep.
            if list(pg.notifies(timeout=0)):
                return True
            if pg.fileno() in self._sleep(pg.fileno()):
                list(pg.notifies(timeout=0))  # read and drop: one look at the table serves all
                return True
        return False

    def _gather(self) -> None:
        """A NOTIFY came: wait OUTBOX_RELAY_GATHER_SECONDS for the events committed just after
        it, so that a steady stream of saves makes batches of several events, not a task each
        (a task's fixed cost would otherwise make the workers fall behind)."""
        if settings.OUTBOX_RELAY_GATHER_SECONDS > 0 and not self._stopping.is_set():
            select.select([self._wake_read], [], [], settings.OUTBOX_RELAY_GATHER_SECONDS)

    def _reset_connection(self) -> None:
        self._listening = False
        try:
            connection.close()
        except DatabaseError:
            pass
