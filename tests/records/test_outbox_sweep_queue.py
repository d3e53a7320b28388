"""The sweeper under a backlog (AUT-8, found by tests/integration/test_outbox_drill.py): while
tasks wait in the broker's queue, an event handed over a stale period ago may be one of them,
so the sweeper re-sends only what was never handed over; once the queue has drained, what is
still pending was lost and goes out again. Otherwise, when the workers lag more than the stale
time, every event waiting in the queue is sent twice and the copies add to the lag."""

from django.conf import settings
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from crm_portal.celery import app as celery_app
from records.models import RecordEvent
from records.outbox import (
    process_record_events_task,
    record_events_queued,
    record_events_sweep,
    sweep_record_events_task,
)
from records.services import contact_create


def new_events(org, actor, count):
    with scope(org=org):
        for i in range(count):
            contact_create(org=org, actor=actor, data={"last_name": "Ota", "email": f"o{i}@x.jp"})
    with scopes_disabled():
        return list(RecordEvent.objects.filter(org=org).order_by("pk"))


def test_aut8_while_tasks_wait_only_events_never_handed_over_are_resent(
    org_a, admin_a, real_broker
):
    handed_over, never = new_events(org_a, admin_a, 2)
    now = timezone.now()
    with scopes_disabled():
        RecordEvent.objects.filter(pk=handed_over.pk).update(enqueued_at=now)
    process_record_events_task.apply_async((org_a.pk, [handed_over.pk]))  # its copy waits
    assert record_events_queued() == 1

    later = now + settings.OUTBOX_STALE_AFTER * 2
    assert record_events_sweep(now=later, queued=record_events_queued()) == 1
    handed_over.refresh_from_db()
    never.refresh_from_db()
    assert (handed_over.resent_count, never.resent_count) == (0, 1)

    celery_app.control.purge()  # the queue drained; the handed-over event is still pending
    assert record_events_queued() == 0
    assert record_events_sweep(now=later, queued=record_events_queued()) == 1
    handed_over.refresh_from_db()
    assert handed_over.resent_count == 1


def test_aut8_the_sweep_task_asks_the_broker_what_waits(org_a, admin_a, real_broker):
    [event] = new_events(org_a, admin_a, 1)
    long_ago = timezone.now() - settings.OUTBOX_STALE_AFTER * 2
    with scopes_disabled():
        RecordEvent.objects.filter(pk=event.pk).update(created_at=long_ago, enqueued_at=long_ago)
    process_record_events_task.apply_async((org_a.pk, [event.pk]))
    assert sweep_record_events_task.apply().get() == 0, "its copy waits in the queue"
    celery_app.control.purge()  # the copy is lost
    assert sweep_record_events_task.apply().get() == 1
