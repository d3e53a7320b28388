"""The outbox under a backlog (AUT-8): the sweeper re-sends only what is truly stuck and stamps
it, at most a cap per sweep, in its own queue with an expiry; a task that loses its database
retries instead of being dropped; a poison event is marked failed after N attempts, visible on
/healthz and to `manage.py outbox_failed`, and never blocks the others; /healthz answers 503
when the oldest pending event is too old."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from crm_portal.celery import app as celery_app
from records.models import RecordEvent
from records.outbox import process_record_events_task, record_events_sweep
from records.services import contact_create
from tests.records import consumers
from tests.workers import queued_tasks

DATA = {"first_name": "Marie", "last_name": "Dubois", "email": "marie@example.fr"}


def new_events(org, actor, count=1):
    with scope(org=org):
        for i in range(count):
            contact_create(org=org, actor=actor, data={**DATA, "email": f"m{i}@example.fr"})
    with scopes_disabled():
        return list(RecordEvent.objects.filter(org=org).order_by("pk"))


def test_aut8_sweeper_leaves_alone_what_the_relay_handed_over_lately(org_a, admin_a, real_broker):
    """An event created long ago but handed over a moment ago waits in the queue: a sweep
    sends no second copy. Only after a whole stale period since its hand-over is it stuck."""
    [event] = new_events(org_a, admin_a)
    stale = settings.OUTBOX_STALE_AFTER
    handed_over = timezone.now() + stale * 3
    with scopes_disabled():
        RecordEvent.objects.filter(pk=event.pk).update(enqueued_at=handed_over)
    assert record_events_sweep(now=handed_over + stale / 2) == 0
    assert len(queued_tasks()) == 0
    assert record_events_sweep(now=handed_over + stale + timedelta(seconds=1)) == 1
    assert len(queued_tasks()) == 1


def test_aut8_each_resend_is_stamped_so_the_next_sweep_skips_it(org_a, admin_a, real_broker):
    [event] = new_events(org_a, admin_a)
    later = timezone.now() + settings.OUTBOX_STALE_AFTER * 2
    assert record_events_sweep(now=later) == 1
    assert record_events_sweep(now=later + timedelta(seconds=1)) == 0, "no copy per sweep"
    event.refresh_from_db()
    assert event.resent_count == 1 and event.enqueued_at == later
    assert len(queued_tasks()) == 1
    assert record_events_sweep(now=later + settings.OUTBOX_STALE_AFTER * 2) == 1
    event.refresh_from_db()
    assert event.resent_count == 2


def test_aut8_a_sweep_resends_at_most_its_cap(org_a, admin_a, real_broker, settings):
    settings.OUTBOX_SWEEP_LIMIT = 2
    new_events(org_a, admin_a, count=5)
    later = timezone.now() + settings.OUTBOX_STALE_AFTER * 2
    assert record_events_sweep(now=later) == 2
    assert record_events_sweep(now=later) == 2
    assert record_events_sweep(now=later) == 1
    assert [len(ids) for _name, (_org, ids) in queued_tasks()] == [2, 2, 1], "a batch a sweep"


def test_aut8_sweeps_run_in_their_own_queue_and_expire():
    """A backlog in the events' queue never delays a sweep, and a sweep not started within one
    interval expires: sweeps never pile up behind the backlog."""
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-record-events"]
    assert entry["options"]["queue"] == settings.OUTBOX_SWEEP_QUEUE != "celery"
    assert entry["options"]["expires"] == entry["schedule"].total_seconds()
    assert settings.OUTBOX_SWEEP_QUEUE in {q.name for q in settings.CELERY_TASK_QUEUES}


def test_aut8_a_task_that_loses_its_database_retries_instead_of_being_dropped(
    org_a, admin_a, settings
):
    """The worker's session is cut mid-transaction: the task is retried (with backoff in a
    real worker) and the event is processed once, not left to the sweeper."""
    settings.RECORD_EVENT_CONSUMERS = ["tests.records.consumers.database_hiccup"]
    consumers.DatabaseHiccup.times = 2
    [event] = new_events(org_a, admin_a)
    assert process_record_events_task.apply(args=(org_a.pk, [event.pk])).get() == 1
    event.refresh_from_db()
    assert event.processed_at is not None and event.attempts == 1
    assert consumers.DatabaseHiccup.times == 0


def test_aut8_a_poison_event_is_failed_after_n_attempts_and_blocks_nobody(org_a, admin_a, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.RECORD_EVENT_CONSUMERS = ["tests.records.consumers.fail"]
    poison, other = new_events(org_a, admin_a, count=2)
    assert process_record_events_task.apply(args=(org_a.pk, [poison.pk])).get() == 0
    poison.refresh_from_db()
    assert poison.failed_at is not None and poison.processed_at is None
    assert poison.attempts == 3
    assert "RuntimeError: this consumer always fails" in poison.last_error
    later = timezone.now() + settings.OUTBOX_STALE_AFTER * 2
    settings.RECORD_EVENT_CONSUMERS = []
    assert record_events_sweep(now=later) == 1, "the sweeper takes the other, not the poison"
    other.refresh_from_db()
    assert other.processed_at is not None


def test_aut8_operators_see_failed_events_and_can_hand_them_back(org_a, admin_a, settings, client):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    settings.RECORD_EVENT_CONSUMERS = ["tests.records.consumers.fail"]
    [poison] = new_events(org_a, admin_a)
    process_record_events_task.apply(args=(org_a.pk, [poison.pk]))
    out = StringIO()
    call_command("outbox_failed", stdout=out)
    assert f"{poison.pk}\talpha\tcontacts#" in out.getvalue()
    assert "this consumer always fails" in out.getvalue() and "1 failed event(s)." in out.getvalue()
    assert client.get("/healthz").json()["outbox"]["failed"] == 1

    settings.RECORD_EVENT_CONSUMERS = []
    call_command("outbox_failed", "--retry", str(poison.pk), stdout=StringIO())
    poison.refresh_from_db()
    assert poison.failed_at is None and poison.enqueued_at is None and poison.attempts == 0


def test_aut8_healthz_reports_the_outbox_lag_and_503s_past_the_threshold(
    org_a, admin_a, settings, client
):
    settings.OUTBOX_LAG_ALERT_SECONDS = 60
    [event] = new_events(org_a, admin_a)
    with scopes_disabled():
        RecordEvent.objects.filter(pk=event.pk).update(
            created_at=timezone.now() - timedelta(seconds=30)
        )
    body = client.get("/healthz").json()
    assert body["outbox"]["pending"] == 1 and 29 <= body["outbox"]["oldest_pending_seconds"] < 60
    assert body["status"] == "ok"
    with scopes_disabled():
        RecordEvent.objects.filter(pk=event.pk).update(
            created_at=timezone.now() - timedelta(seconds=90)
        )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "failing: outbox"
    assert response.json()["outbox"]["status"] == "behind"


@pytest.fixture(autouse=True)
def _retries_run_in_place(monkeypatch):
    """Eager tasks run their retries at once, one after the other, as a worker would after
    each backoff (the backoff itself is for real workers: tests/integration)."""
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", False)
    yield
    consumers.DatabaseHiccup.times = 0
