"""The outbox (REC-3, AUT-8): a record change and its event are written together or not at all;
the relay hands each committed event to the workers once; every event is processed exactly
once, even when its hand-over was lost. Where it matters what reached the broker, the tests
publish to the real Redis broker and read its queue. (The same with real processes, and a broker
lost in the middle of a batch: tests/integration.)"""

import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from records.models import Contact, RecordEvent
from records.outbox import (
    process_record_events_task,
    record_event_process,
    record_events_process,
    record_events_sweep,
)
from records.relay import record_events_relay
from records.services import contact_create, contact_update
from tests.records import consumers
from tests.workers import queued_tasks

DATA = {"first_name": "Marie", "last_name": "Dubois", "email": "marie@example.fr", "language": "en"}


def events(org):
    with scopes_disabled():
        return list(RecordEvent.objects.filter(org=org))


@contextmanager
def event_locked_elsewhere(event_id: int):
    """Another process (a worker, a relay) holds the event's row lock meanwhile."""
    locked, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic(), scopes_disabled():
            RecordEvent.objects.select_for_update().get(pk=event_id)
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(10)
        yield
    finally:
        release.set()
        thread.join()


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


def test_rec3_committed_create_leaves_exactly_one_pending_event(
    org_a, admin_a, django_capture_on_commit_callbacks
):
    """The save path writes the event and publishes nothing: the relay does that."""
    with scope(org=org_a), django_capture_on_commit_callbacks(execute=False) as callbacks:
        contact = contact_create(org=org_a, actor=admin_a, data=DATA)
    [event] = events(org_a)
    assert (event.kind, event.record_id, event.actor_id) == ("create", contact.pk, admin_a.pk)
    assert (event.enqueued_at, event.processed_at) == (None, None)
    assert callbacks == [], "no broker call waits for the commit"


def test_rec3_create_event_lists_the_fields_given_a_value(org_a, admin_a):
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data={**DATA, "phone": "", "title": ""})
    [event] = events(org_a)
    assert event.changes == {
        "first_name": [None, "Marie"],
        "last_name": [None, "Dubois"],
        "email": [None, "marie@example.fr"],
        "language": [None, "en"],
        "subscription": [None, "none"],
        "owner_id": [None, admin_a.pk],  # REC-5: the creator's, by default
    }


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


def test_aut8_relay_hands_committed_event_to_the_worker_once(org_a, admin_a):
    """With the (eager) worker, the relay's publish processes the event; a second round
    finds nothing left to hand over."""
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)
    assert record_events_relay() == 1
    [event] = events(org_a)
    assert event.enqueued_at is not None and event.processed_at is not None
    assert event.attempts == 1
    assert record_events_relay() == 0


def test_aut8_relay_publishes_in_batches_oldest_first(org_a, admin_a, real_broker):
    """What reaches the (real, Redis) broker: one message per claimed batch, oldest first."""
    with scope(org=org_a):
        for n in range(3):
            contact_create(org=org_a, actor=admin_a, data={**DATA, "last_name": f"N{n}"})
    ids = [event.pk for event in events(org_a)]
    assert record_events_relay(limit=2) == 2
    assert record_events_relay(limit=2) == 1
    assert record_events_relay(limit=2) == 0
    assert queued_tasks() == [
        (process_record_events_task.name, [org_a.pk, ids[:2]]),
        (process_record_events_task.name, [org_a.pk, ids[2:]]),
    ]


def test_aut8_relay_batches_hold_one_org_each_and_at_most_the_task_batch_size(
    org_a, org_b, admin_a, admin_b, settings, real_broker
):
    """A task runs in one org's scope: a claim spanning two orgs becomes one batch per org,
    each cut at OUTBOX_TASK_BATCH_SIZE."""
    settings.OUTBOX_TASK_BATCH_SIZE = 2
    for org, actor in ((org_a, admin_a), (org_b, admin_b)):
        with scope(org=org):
            for n in range(3):
                contact_create(org=org, actor=actor, data={**DATA, "last_name": f"N{n}"})
    a, b = [event.pk for event in events(org_a)], [event.pk for event in events(org_b)]
    assert record_events_relay() == 6
    assert queued_tasks() == [
        (process_record_events_task.name, [org_a.pk, a[:2]]),
        (process_record_events_task.name, [org_a.pk, a[2:]]),
        (process_record_events_task.name, [org_b.pk, b[:2]]),
        (process_record_events_task.name, [org_b.pk, b[2:]]),
    ]


@pytest.mark.django_db(transaction=True)
def test_aut8_two_relays_never_hand_over_the_same_event(org_a, admin_a, real_broker):
    """While one relay holds its claimed rows, another one skips them (SKIP LOCKED)."""
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)
        contact_create(org=org_a, actor=admin_a, data={**DATA, "last_name": "Other"})
    first, second = events(org_a)
    with event_locked_elsewhere(first.pk):
        assert record_events_relay() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.enqueued_at is None and second.enqueued_at is not None
    assert queued_tasks() == [(process_record_events_task.name, [org_a.pk, [second.pk]])]


def test_aut8_processing_twice_processes_once(org_a, admin_a):
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)
        [event] = events(org_a)
        assert record_event_process(event_id=event.pk) is True
        assert record_event_process(event_id=event.pk) is False
    event.refresh_from_db()
    assert event.attempts == 1


def test_aut8_sweeper_processes_event_whose_enqueue_was_lost(org_a, admin_a):
    """No relay ran (or the broker lost its message): the sweeper hands the event over once it
    is OUTBOX_STALE_AFTER old."""
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)
    [event] = events(org_a)
    assert event.processed_at is None
    assert record_events_sweep() == 0, "a fresh event is left to the relay"
    later = timezone.now() + timedelta(minutes=5)
    assert record_events_sweep(now=later) == 1
    event.refresh_from_db()
    assert event.processed_at is not None
    assert record_events_sweep(now=later) == 0, "done events are not re-enqueued"


def test_aut8_sweeper_also_takes_events_the_relay_marked_but_never_published(org_a, admin_a):
    """A relay killed between marking and publishing: the event is marked enqueued, no
    message exists, and the sweeper still finds it."""
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)
    with scopes_disabled():
        RecordEvent.objects.update(enqueued_at=timezone.now())
    assert record_events_relay() == 0, "the relay leaves it alone"
    assert record_events_sweep(now=timezone.now() + timedelta(minutes=5)) == 1
    [event] = events(org_a)
    assert event.processed_at is not None and event.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_aut8_claim_skips_event_locked_by_another_worker(org_a, admin_a):
    """While one worker holds an event, a second one skips it instead of processing it again."""
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)
    [event] = events(org_a)
    with event_locked_elsewhere(event.pk), scope(org=org_a):
        assert record_event_process(event_id=event.pk) is False
    event.refresh_from_db()
    assert event.processed_at is None and event.attempts == 0
    with scope(org=org_a):
        assert record_event_process(event_id=event.pk) is True


@pytest.fixture
def seen():
    consumers.SEEN.clear()
    yield consumers.SEEN
    consumers.SEEN.clear()


def test_aut8_each_consumer_in_the_setting_gets_the_event_once(org_a, admin_a, settings, seen):
    """AUT-8: the worker hands a claimed event to every consumer RECORD_EVENT_CONSUMERS lists,
    in order, and a second processing hands it to nobody (auto-invite plugs in here)."""
    settings.RECORD_EVENT_CONSUMERS = [
        "tests.records.consumers.remember",
        "tests.records.consumers.remember",
    ]
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)
        [event] = events(org_a)
        assert record_event_process(event_id=event.pk) is True
        assert record_event_process(event_id=event.pk) is False
    assert [pk for pk, _kind, _changes in seen] == [event.pk, event.pk]
    assert seen[0][2]["email"] == [None, "marie@example.fr"]


def test_aut8_a_failing_consumer_leaves_the_event_pending(org_a, admin_a, settings, seen):
    """AUT-8: consuming and marking done are one transaction: when a consumer fails, the
    event stays pending for the next attempt, and no consumer's work is kept."""
    settings.RECORD_EVENT_CONSUMERS = [
        "tests.records.consumers.remember",
        "tests.records.consumers.fail",
    ]
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)
        [event] = events(org_a)
        with pytest.raises(RuntimeError):
            record_event_process(event_id=event.pk)
    event.refresh_from_db()
    assert event.processed_at is None and event.attempts == 0


def new_events(org, actor, count: int) -> list[int]:
    with scope(org=org):
        for n in range(count):
            contact_create(org=org, actor=actor, data={**DATA, "last_name": f"N{n}"})
    return [event.pk for event in events(org)]


@pytest.mark.parametrize("size", [1, 50])
def test_aut8_a_batch_costs_the_same_statements_whatever_its_size(
    org_a, admin_a, settings, seen, size, django_assert_num_queries
):
    """AUT-8: claim (1), the consumers (here none of their own), mark done (1), and the
    savepoint around them (2): four statements for 1 event as for 50."""
    settings.RECORD_EVENT_CONSUMERS = ["tests.records.consumers.remember"]
    ids = new_events(org_a, admin_a, size)
    with scope(org=org_a), django_assert_num_queries(4):
        assert record_events_process(event_ids=ids) == size
    assert sorted(pk for pk, _kind, _changes in seen) == sorted(ids)
    assert {event.attempts for event in events(org_a)} == {1}
    assert all(event.processed_at for event in events(org_a))


def test_aut8_a_batch_is_handed_to_each_consumer_once_and_a_redelivery_to_nobody(
    org_a, admin_a, settings, seen
):
    settings.RECORD_EVENT_CONSUMERS = ["tests.records.consumers.remember"]
    ids = new_events(org_a, admin_a, 3)
    with scope(org=org_a):
        assert record_event_process(event_id=ids[0]) is True
        assert record_events_process(event_ids=ids) == 2, "the one done already is left out"
        assert record_events_process(event_ids=ids) == 0
    assert sorted(pk for pk, _kind, _changes in seen) == sorted(ids)


def test_aut8_a_poison_event_never_holds_its_batch_mates_back(org_a, admin_a, settings, seen):
    """AUT-8: the batch fails as a whole, then each event goes alone: the others are
    processed, the failure is counted on the poison event only."""
    settings.RECORD_EVENT_CONSUMERS = [
        "tests.records.consumers.remember",
        "tests.records.consumers.fail_on_poison",
    ]
    settings.OUTBOX_MAX_ATTEMPTS = 1
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=DATA)
        contact_create(org=org_a, actor=admin_a, data={**DATA, "last_name": consumers.POISON})
        contact_create(org=org_a, actor=admin_a, data={**DATA, "last_name": "Other"})
    ids = [event.pk for event in events(org_a)]
    assert process_record_events_task.apply(args=(org_a.pk, ids)).get() == 0
    done = {
        event.pk: (event.processed_at is not None, event.failed_at is not None)
        for event in events(org_a)
    }
    assert done == {ids[0]: (True, False), ids[1]: (False, True), ids[2]: (True, False)}
