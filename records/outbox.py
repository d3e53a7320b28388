"""The outbox's consuming side (REC-3, AUT-8): a worker claims a batch of pending record events,
hands the batch to every consumer listed in RECORD_EVENT_CONSUMERS, and marks them done — one
transaction, a fixed number of statements per batch whatever its size. The
apps above records (auto-invite in portals) plug in through that setting, so records knows none
of them. Tasks live beside the services they run.

Under a backlog (the broker or every worker was down for a while) the pipeline must not drown
in its own safety net: the sweeper re-sends only what is truly stuck and stamps what it sent;
a task that loses its database or broker retries with backoff; an event that fails every time
is marked failed after OUTBOX_MAX_ATTEMPTS and left for an operator."""

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django_scopes import scope, scopes_disabled
from kombu.exceptions import OperationalError as BrokerError

from users.models import Organization

from .models import RecordEvent

logger = logging.getLogger(__name__)

# Worth another try: the database or the broker went away for a moment.
TEMPORARY_ERRORS = (DatabaseError, BrokerError, ConnectionError, TimeoutError)


def record_event_consumers() -> list:
    """The consumers, in the setting's order: each is called as `consumer(events)` with the
    claimed batch (a list of RecordEvent, one org's, oldest first) inside the transaction
    that marks them done, so a consumer that fails leaves the whole batch pending. A consumer
    does a fixed number of statements per batch, whatever its size."""
    return [import_string(path) for path in settings.RECORD_EVENT_CONSUMERS]


def record_events_process(*, event_ids: list[int]) -> int:
    """Claim the pending events among `event_ids`, hand them to every consumer as one batch
    and mark them done in one UPDATE; returns how many were processed (0 when all are done
    already, failed for good, or claimed by another worker). Claiming, consuming and marking
    are one transaction, so a worker that dies half-way leaves the batch pending for the next
    attempt, and a second delivery finds nothing to do."""
    with transaction.atomic():
        batch = list(
            RecordEvent.objects.select_for_update(skip_locked=True)
            .filter(pk__in=event_ids, processed_at__isnull=True, failed_at__isnull=True)
            .order_by("created_at", "pk")
        )
        # A second delivery (a re-send, a redelivered message): visible, so a storm shows.
        for event_id in sorted(set(event_ids) - {event.pk for event in batch}):
            logger.info("Record event %s: nothing to do (done, failed or claimed)", event_id)
        if not batch:
            return 0
        for consumer in record_event_consumers():
            consumer(batch)
        RecordEvent.objects.filter(pk__in=[event.pk for event in batch]).update(
            attempts=F("attempts") + 1, processed_at=timezone.now()
        )
    return len(batch)


def record_event_process(*, event_id: int) -> bool:
    """One event alone (a batch of one); False when there was nothing to do."""
    return record_events_process(event_ids=[event_id]) == 1


def record_event_attempt_failed(*, event_id: int, error: Exception) -> bool:
    """Count a failed attempt with its error, in its own transaction (the attempt's own was
    rolled back). True when the event has now failed for good: a poison event, retried no
    more, never in the way of the others."""
    with scopes_disabled():
        RecordEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
            attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:2000]
        )
        poisoned = RecordEvent.objects.filter(
            pk=event_id,
            processed_at__isnull=True,
            failed_at__isnull=True,
            attempts__gte=settings.OUTBOX_MAX_ATTEMPTS,
        ).update(failed_at=timezone.now())
    if poisoned:
        logger.error(
            "Record event %s failed %s times; giving up: %s",
            event_id,
            settings.OUTBOX_MAX_ATTEMPTS,
            error,
        )
    return bool(poisoned)


def record_events_process_one_by_one(*, event_ids: list[int]) -> list[int]:
    """After a batch failed with an error of its own (not a lost database or broker): each
    event alone, so one poison event never holds its batch-mates back. A failure is counted
    on the event that fails; returns the ids still worth another try."""
    retry = []
    for event_id in event_ids:
        try:
            record_events_process(event_ids=[event_id])
        except TEMPORARY_ERRORS:
            retry.append(event_id)
        except Exception as error:
            if not record_event_attempt_failed(event_id=event_id, error=error):
                retry.append(event_id)
    return retry


def retry_countdown(retries: int) -> float:
    """Seconds before retry number `retries` + 1: doubling from OUTBOX_RETRY_BASE_SECONDS up
    to OUTBOX_RETRY_MAX_SECONDS, with jitter so a crowd of retries spreads out."""
    ceiling = min(
        settings.OUTBOX_RETRY_BASE_SECONDS * 2**retries, settings.OUTBOX_RETRY_MAX_SECONDS
    )
    return ceiling * random.uniform(0.5, 1.0)


def org_or_none(org_id: int) -> Organization | None:
    with scopes_disabled():
        return Organization.objects.filter(pk=org_id).first()


@shared_task(
    bind=True,
    name="records.tasks.process_record_events_task",
    acks_late=True,
    max_retries=None,  # bounded by the events' attempts (OUTBOX_MAX_ATTEMPTS), not by Celery
)
def process_record_events_task(self, org_id: int, event_ids: list[int]) -> int:
    """Process a batch of one org's events in its scope; returns how many were processed. A
    database or broker error retries the batch with backoff; any other error sends each event
    through alone, counting the failure on the one that fails, and retries those left until
    each has failed OUTBOX_MAX_ATTEMPTS times."""
    org = org_or_none(org_id)
    if org is None:
        return 0  # the org was deleted, its events with it
    with scope(org=org):
        try:
            return record_events_process(event_ids=event_ids)
        except TEMPORARY_ERRORS as error:
            logger.warning("Record events %s: %s; retrying", event_ids, error)
            countdown = retry_countdown(self.request.retries)
            raise self.retry(exc=error, countdown=countdown) from error
        except Exception as error:
            logger.warning("Record events %s: %s; one by one", event_ids, error)
            retry = record_events_process_one_by_one(event_ids=event_ids)
            if not retry:
                return 0
            countdown = retry_countdown(self.request.retries)
            raise self.retry(args=(org_id, retry), exc=error, countdown=countdown) from error


@shared_task(
    bind=True,
    name="records.tasks.process_record_event_task",
    acks_late=True,
    max_retries=None,
)
def process_record_event_task(self, org_id: int, event_id: int) -> bool:
    """One event per task: the messages published before batches (kept so a queue that still
    holds them drains after an upgrade); the same path as a batch of one."""
    try:
        with scopes_disabled():
            org = Organization.objects.get(pk=org_id)
        with scope(org=org):
            return record_event_process(event_id=event_id)
    except Organization.DoesNotExist:
        return False
    except TEMPORARY_ERRORS as error:
        logger.warning("Record event %s: %s; retrying", event_id, error)
        raise self.retry(exc=error, countdown=retry_countdown(self.request.retries)) from error
    except Exception as error:
        if record_event_attempt_failed(event_id=event_id, error=error):
            return False
        raise self.retry(exc=error, countdown=retry_countdown(self.request.retries)) from error


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int
    oldest_pending_seconds: float
    failed: int


def outbox_backlog(*, now: datetime | None = None) -> OutboxBacklog:
    """How many events wait, how old the oldest is, how many failed for good (AUT-8)."""
    now = now or timezone.now()
    with scopes_disabled():
        pending = RecordEvent.objects.filter(processed_at__isnull=True)
        waiting = pending.filter(failed_at__isnull=True).aggregate(
            count=Count("pk"), oldest=Min("created_at")
        )
        failed = pending.filter(failed_at__isnull=False).count()
    oldest = waiting["oldest"]
    age = (now - oldest).total_seconds() if oldest else 0.0
    return OutboxBacklog(
        pending=waiting["count"], oldest_pending_seconds=max(age, 0.0), failed=failed
    )


def record_events_sweep(
    *, now: datetime | None = None, limit: int | None = None, queued: int = 0
) -> int:
    """Re-send what is truly stuck: events never handed over, or handed over longer ago than
    OUTBOX_STALE_AFTER, and still unprocessed — at most `limit` (OUTBOX_SWEEP_LIMIT) a sweep.
    Each re-send stamps the event (enqueued again now, one more re-send), so the next sweep
    leaves it alone while it waits in the queue. Returns how many were re-sent.

    `queued` is how many tasks wait in the events' queue (record_events_queued). While any
    wait, the workers are behind and an event handed over a stale period ago may well be one
    of them: re-sent, it would be delivered twice. So only events never handed over are
    re-sent then; the others once the queue has drained, when one still pending was lost."""
    now = now or timezone.now()
    cutoff = now - settings.OUTBOX_STALE_AFTER
    limit = limit or settings.OUTBOX_SWEEP_LIMIT
    unsent = Q(enqueued_at__isnull=True)
    with broker_producer() as producer:
        with transaction.atomic(), scopes_disabled():
            stuck = list(
                RecordEvent.objects.select_for_update(skip_locked=True)
                .filter(processed_at__isnull=True, failed_at__isnull=True, created_at__lte=cutoff)
                .filter(unsent if queued else unsent | Q(enqueued_at__lte=cutoff))
                .order_by("created_at", "pk")
                .values_list("org_id", "pk")[:limit]
            )
            RecordEvent.objects.filter(pk__in=[pk for _org, pk in stuck]).update(
                enqueued_at=now, resent_count=F("resent_count") + 1
            )
        log_backlog("Outbox sweep", len(stuck), now=now, queued=queued)
        return record_events_publish(stuck, producer)


def record_events_queued() -> int:
    """How many tasks wait in the broker's queue that event tasks go to (the default queue),
    not yet taken by a worker."""
    app = process_record_events_task.app
    queue = app.amqp.queues[app.conf.task_default_queue]
    with app.connection_or_acquire() as connection:
        return queue(connection.default_channel).queue_declare().message_count


@contextmanager
def broker_producer() -> Iterator:
    """A producer whose broker connection is up, to take before claiming events. When the
    broker is down, kombu tries to connect for seconds before it gives up; events claimed
    meanwhile would look handed over, and once that took longer than the stale time, the
    sweeper would re-send them and both copies arrive. So: connect, then claim, then publish."""
    with process_record_events_task.app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=1)  # or raises OperationalError
        yield producer


def record_event_batches(claimed: list[tuple[int, int]]) -> list[tuple[int, list[int]]]:
    """(org id, event ids) batches of at most OUTBOX_TASK_BATCH_SIZE, one org each (a task runs
    in one org's scope), in the claim's order: oldest first."""
    size = settings.OUTBOX_TASK_BATCH_SIZE
    by_org: dict[int, list[int]] = {}
    for org_id, event_id in claimed:
        by_org.setdefault(org_id, []).append(event_id)
    return [
        (org_id, ids[start : start + size])
        for org_id, ids in by_org.items()
        for start in range(0, len(ids), size)
    ]


def record_events_publish(claimed: list[tuple[int, int]], producer) -> int:
    """Publish the (org id, event id) pairs through `producer` (broker_producer) as batches
    (record_event_batches), after the claim committed (a worker that gets the message first
    must find the rows unlocked); returns how many events were published. When the broker
    refuses, what was not published is released for the relay's next round and the error is
    raised."""
    published: list[int] = []
    try:
        for org_id, event_ids in record_event_batches(claimed):
            process_record_events_task.apply_async(
                (org_id, event_ids), producer=producer, retry=False
            )
            published.extend(event_ids)
    except Exception:
        sent = set(published)
        unsent = [pk for _org, pk in claimed if pk not in sent]
        with scopes_disabled():
            RecordEvent.objects.filter(pk__in=unsent, processed_at__isnull=True).update(
                enqueued_at=None
            )
        raise
    return len(published)


def log_backlog(
    who: str, handed_over: int, *, now: datetime | None = None, queued: int | None = None
) -> OutboxBacklog:
    """Back-pressure, visible: how many events wait and how old the oldest is."""
    backlog = outbox_backlog(now=now)
    logger.info(
        "%s: %s handed over; %s pending, the oldest %.0f s old; %s failed%s",
        who,
        handed_over,
        backlog.pending,
        backlog.oldest_pending_seconds,
        backlog.failed,
        "" if queued is None else f"; {queued} tasks queued",
    )
    return backlog


@shared_task(name="records.tasks.sweep_record_events_task")
def sweep_record_events_task() -> int:
    return record_events_sweep(queued=record_events_queued())


def record_events_retry_failed(*, ids: list[int] | None) -> int:
    """Give failed events (those ids, or all) a fresh start: the relay hands them over again."""
    with scopes_disabled():
        failed = RecordEvent.objects.filter(failed_at__isnull=False, processed_at__isnull=True)
        if ids is not None:
            failed = failed.filter(pk__in=ids)
        return failed.update(failed_at=None, attempts=0, enqueued_at=None, last_error="")
