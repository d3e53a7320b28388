"""The outbox (REC-3, AUT-8): a record change and its event are written together or not at all,
and every event is processed exactly once, even when its enqueue was lost."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from kombu.exceptions import OperationalError

from records.models import Contact, RecordEvent
from records.services import (
    contact_create,
    contact_update,
    record_event_process,
    record_events_sweep,
)
from records.tasks import process_record_event_task

DATA = {"first_name": "Marie", "last_name": "Dubois", "email": "marie@example.fr", "language": "en"}


def events(org):
    with scopes_disabled():
        return list(RecordEvent.objects.filter(org=org))


def test_rec3_rolled_back_save_leaves_no_event(org_a, admin_a):
    with scope(org=org_a), pytest.raises(RuntimeError):
        with transaction.atomic():
            contact_create(org=org_a, actor=admin_a, data=DATA)
            raise RuntimeError("the request failed after the save")
    with scopes_disabled():
        assert not Contact.objects.filter(org=org_a).exists()
    assert events(org_a) == []


def test_rec3_invalid_contact_writes_neither_row_nor_event(org_a, admin_a):
    with scope(org=org_a), pytest.raises(ValidationError):
        contact_create(org=org_a, actor=admin_a, data={**DATA, "email": "not-an-email"})
    assert events(org_a) == []


def test_rec3_committed_create_leaves_exactly_one_event(
    org_a, admin_a, django_capture_on_commit_callbacks
):
    with scope(org=org_a), django_capture_on_commit_callbacks(execute=False) as callbacks:
        contact = contact_create(org=org_a, actor=admin_a, data=DATA)
    [event] = events(org_a)
    assert (event.kind, event.record_id, event.actor_id) == ("create", contact.pk, admin_a.pk)
    assert event.changes["email"] == [None, "marie@example.fr"]
    assert event.changes["last_name"] == [None, "Dubois"]
    assert len(callbacks) == 1, "one enqueue is scheduled for after the commit"


def test_rec3_update_event_names_changed_fields_old_and_new(org_a, admin_a):
    with scope(org=org_a):
        contact = contact_create(org=org_a, actor=admin_a, data=DATA)
        contact_update(contact=contact, actor=admin_a, data={**DATA, "country": "FR"})
    update = [e for e in events(org_a) if e.kind == "update"]
    assert len(update) == 1
    assert update[0].changes == {"country": ["", "FR"]}


def test_rec3_update_that_changes_nothing_writes_no_event(org_a, admin_a):
    with scope(org=org_a):
        contact = contact_create(org=org_a, actor=admin_a, data=DATA)
        assert contact_update(contact=contact, actor=admin_a, data=dict(DATA)) is None
    assert [e.kind for e in events(org_a)] == ["create"]


def test_aut8_commit_enqueues_and_worker_marks_event_done(
    org_a, admin_a, django_capture_on_commit_callbacks
):
    """With the (eager) worker, the event is processed once the transaction commits."""
    with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
        contact_create(org=org_a, actor=admin_a, data=DATA)
    [event] = events(org_a)
    assert event.processed_at is not None
    assert event.attempts == 1


def test_aut8_processing_twice_processes_once(org_a, admin_a):
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)
        [event] = events(org_a)
        assert record_event_process(event_id=event.pk) is True
        assert record_event_process(event_id=event.pk) is False
    event.refresh_from_db()
    assert event.attempts == 1


def test_aut8_lost_enqueue_does_not_fail_the_save(
    org_a, admin_a, django_capture_on_commit_callbacks, monkeypatch
):
    """Broker down at commit time: the user's save still succeeds; the event waits.
    (The same with a real dead broker and a real worker: tests/integration.)"""

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(process_record_event_task, "apply_async", broker_down)
    with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
        contact = contact_create(org=org_a, actor=admin_a, data=DATA)
    assert contact.pk
    [event] = events(org_a)
    assert event.processed_at is None


def test_aut8_sweeper_processes_event_whose_enqueue_was_lost(org_a, admin_a):
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)  # on_commit never runs here
    [event] = events(org_a)
    assert event.processed_at is None
    assert record_events_sweep() == 0, "a fresh event is left to its own enqueue"
    later = timezone.now() + timedelta(minutes=5)
    assert record_events_sweep(now=later) == 1
    event.refresh_from_db()
    assert event.processed_at is not None
    assert record_events_sweep(now=later) == 0, "done events are not re-enqueued"


@pytest.mark.django_db(transaction=True)
def test_aut8_claim_skips_event_locked_by_another_worker(org_a, admin_a):
    """While one worker holds an event, a second one skips it instead of processing it again."""
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)
    [event] = events(org_a)
    with scopes_disabled():  # the eager worker already ran on commit: make it pending again
        RecordEvent.objects.filter(pk=event.pk).update(processed_at=None, attempts=0)
    locked, release = threading.Event(), threading.Event()

    def first_worker():
        with transaction.atomic():
            with scopes_disabled():
                RecordEvent.objects.select_for_update().get(pk=event.pk)
            locked.set()
            release.wait(10)
        connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    try:
        assert locked.wait(10)
        with scope(org=org_a):
            assert record_event_process(event_id=event.pk) is False
    finally:
        release.set()
        worker.join()
    event.refresh_from_db()
    assert event.processed_at is None and event.attempts == 0
    with scope(org=org_a):
        assert record_event_process(event_id=event.pk) is True
