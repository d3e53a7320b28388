"""AUT-8 with real processes: a committed change wakes the outbox relay (PostgreSQL NOTIFY),
which hands it to a Celery worker running in its own process. A change saved while the relay
could not reach the broker, or while no relay ran, waits and is processed later. Nothing is
lost, nothing is processed twice."""

import signal
import subprocess
import sys

import pytest
from django_scopes import scope, scopes_disabled

from records.models import RecordEvent
from records.services import contact_create
from tests.workers import ROOT, process_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DEAD_BROKER = "redis://127.0.0.1:1/0"


def event_of(org):
    with scopes_disabled():
        return RecordEvent.objects.filter(org=org).first()


def events_of(org) -> list[RecordEvent]:
    with scopes_disabled():
        return list(RecordEvent.objects.filter(org=org).order_by("pk"))


def all_processed(org) -> bool:
    with scopes_disabled():
        return not RecordEvent.objects.filter(org=org, processed_at=None).exists()


def test_aut8_commit_wakes_relay_which_hands_event_to_real_worker(
    org_a, admin_a, start_celery, start_relay
):
    worker = start_celery("worker")
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data={"last_name": "Ito"})
    # It would look on its own only once an hour. Its first look hands over the change saved
    # before it started; once that is done the relay waits, and only a commit's NOTIFY can
    # wake it.
    relay = start_relay("--poll-seconds", "3600")
    assert wait_for(lambda: all_processed(org_a)), relay.log() + worker.log()
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data={"last_name": "Sato", "email": "s@x.jp"})
    assert wait_for(lambda: events_of(org_a)[-1].processed_at is not None), (
        relay.log() + worker.log()
    )
    assert len(events_of(org_a)) == 2
    event = events_of(org_a)[-1]
    assert event.attempts == 1 and event.enqueued_at is not None
    assert "process_record_events_task" in worker.log()


def test_aut8_web_saves_while_broker_is_down(org_a, admin_a):
    """A web process whose broker is unreachable saves a contact at once: the save path
    never talks to the broker."""
    code = (
        "from django_scopes import scope, scopes_disabled\n"
        "from users.models import CrmUser\n"
        "from records.services import contact_create\n"
        f"with scopes_disabled(): m = CrmUser.objects.select_related('org').get(pk={admin_a.pk})\n"
        "with scope(org=m.org): contact_create(org=m.org, actor=m, data={'last_name': 'Kato'})\n"
        "print('saved')\n"
    )
    web = subprocess.run(
        [sys.executable, "manage.py", "shell", "--verbosity", "0", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=process_env(CELERY_BROKER_URL=DEAD_BROKER),
    )
    assert web.returncode == 0 and "saved" in web.stdout, web.stderr
    assert event_of(org_a).processed_at is None


def test_aut8_event_the_relay_could_not_publish_is_swept_to_the_worker(
    org_a, admin_a, start_celery, start_relay
):
    relay = start_relay(CELERY_BROKER_URL=DEAD_BROKER)
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data={"last_name": "Kato"})
    assert wait_for(lambda: "could not publish" in relay.log()), relay.log()
    assert relay.popen.poll() is None, "the relay keeps going while the broker is down"
    # It gives the event back after each failed try (and claims it again at the next one).
    assert wait_for(lambda: event_of(org_a).enqueued_at is None), relay.log()
    assert event_of(org_a).processed_at is None

    # The worker alone never hears of it ...
    worker = start_celery("worker")
    # ... until the scheduler's sweeper re-enqueues what is still pending.
    start_celery("beat", OUTBOX_SWEEP_SECONDS="1", OUTBOX_STALE_SECONDS="1")
    assert wait_for(lambda: event_of(org_a).processed_at is not None), worker.log()
    assert event_of(org_a).attempts == 1


def test_aut8_relay_with_broker_down_releases_what_it_could_not_publish(
    org_a, admin_a, start_celery, start_relay, broker_link
):
    """The first event reached the broker, then it went away: the others stay for the next
    round, the saves themselves never knew. (Batches of one event here: one message each.)"""
    with scope(org=org_a):
        for name in ("Ito", "Abe", "Ueda"):
            contact_create(org=org_a, actor=admin_a, data={"last_name": name})
    worker = start_celery("worker")
    link = broker_link(publishes=1)
    relay = start_relay(CELERY_BROKER_URL=link.url, OUTBOX_TASK_BATCH_SIZE="1")
    assert wait_for(lambda: "could not publish" in relay.log()), relay.log()
    relay.stop()  # what it has not published is settled once it has stopped
    assert wait_for(lambda: events_of(org_a)[0].processed_at is not None), worker.log()
    assert [(e.enqueued_at, e.processed_at) for e in events_of(org_a)[1:]] == [(None, None)] * 2

    next_relay = start_relay()  # the broker is back
    assert wait_for(lambda: all_processed(org_a)), next_relay.log() + worker.log()
    assert [e.attempts for e in events_of(org_a)] == [1, 1, 1]


def test_aut8_events_saved_while_no_relay_ran_go_out_when_one_starts(
    org_a, admin_a, start_celery, start_relay
):
    with scope(org=org_a):
        for name in ("Ito", "Abe", "Ueda"):
            contact_create(org=org_a, actor=admin_a, data={"last_name": name})
    worker = start_celery("worker")
    relay = start_relay()

    assert wait_for(lambda: all_processed(org_a)), relay.log() + worker.log()
    with scopes_disabled():
        assert set(RecordEvent.objects.values_list("attempts", flat=True)) == {1}

    relay.popen.send_signal(signal.SIGTERM)
    assert relay.popen.wait(timeout=60) == 0
    assert "Outbox relay stopped" in relay.log()


def test_aut8_relay_survives_losing_its_database_connection(
    org_a, admin_a, start_celery, start_relay
):
    """The database restarts under the relay (here: its session is terminated): it reconnects,
    listens again and hands over the next change."""
    from django.db import connection

    relay = start_relay()

    def relay_lost_its_session() -> bool:
        # "Outbox relay started" is logged before the relay connects: end every other session
        # on the test database until the relay says it lost its own.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        return "reconnecting" in relay.log()

    assert wait_for(relay_lost_its_session, interval=1), relay.log()
    worker = start_celery("worker")
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data={"last_name": "Sato"})
    assert wait_for(lambda: event_of(org_a).processed_at is not None), relay.log() + worker.log()
    assert relay.popen.poll() is None
