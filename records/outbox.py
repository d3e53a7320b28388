"""The outbox's consuming side (REC-3, AUT-8): a worker claims a pending record event, hands it
to every consumer listed in RECORD_EVENT_CONSUMERS, and marks it done — one transaction. The
apps above records (auto-invite in portals) plug in through that setting, so records knows none
of them. Tasks live beside the services they run."""

from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_scopes import scopes_disabled

from crm_portal.tenancy import TenantTask

from .models import RecordEvent


def record_event_consumers() -> list:
    """The consumers, in the setting's order: each is called as `consumer(event)` inside the
    transaction that marks the event done, so a consumer that fails leaves it pending."""
    return [import_string(path) for path in settings.RECORD_EVENT_CONSUMERS]


def record_event_process(*, event_id: int) -> bool:
    """Claim a pending event and process it; False when it is done already or claimed by
    another worker. Claiming, processing and marking done are one transaction, so a worker
    that dies half-way leaves the event pending for the next attempt."""
    with transaction.atomic():
        event = (
            RecordEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, processed_at__isnull=True)
            .first()
        )
        if event is None:
            return False
        event.attempts += 1
        for consumer in record_event_consumers():
            consumer(event)
        event.processed_at = timezone.now()
        event.save(update_fields=["attempts", "processed_at"])
    return True


@shared_task(
    name="records.tasks.process_record_event_task",
    base=TenantTask,
    acks_late=True,
    max_retries=5,
)
def process_record_event_task(org_id: int, event_id: int) -> bool:
    return record_event_process(event_id=event_id)


def record_events_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Re-enqueue events still pending after OUTBOX_STALE_AFTER; returns how many."""
    cutoff = (now or timezone.now()) - settings.OUTBOX_STALE_AFTER
    with scopes_disabled():
        pending = list(
            RecordEvent.objects.filter(processed_at__isnull=True, created_at__lte=cutoff)
            .order_by("created_at")
            .values_list("org_id", "pk")[:limit]
        )
    for org_id, event_id in pending:
        process_record_event_task.delay(org_id, event_id)
    return len(pending)


@shared_task(name="records.tasks.sweep_record_events_task")
def sweep_record_events_task() -> int:
    return record_events_sweep()
