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


def test_aut8_commit_wakes_relay_which_hands_event_to_real_worker(
    org_a, admin_a, start_celery, start_relay
):
    worker = start_celery("worker")
    # It would look on its own only once a minute: the commit's NOTIFY is what wakes it.
    relay = start_relay("--poll-seconds", "60")
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data={"last_name": "Sato", "email": "s@x.jp"})
    assert wait_for(lambda: event_of(org_a).processed_at is not None, 15), (
        relay.log() + worker.log()
    )
    event = event_of(org_a)
    assert event.attempts == 1 and event.enqueued_at is not None
    assert "process_record_event_task" in worker.log()


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
        timeout=60,
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
    assert wait_for(lambda: "could not publish" in relay.log(), 20), relay.log()
    assert relay.popen.poll() is None, "the relay keeps going while the broker is down"
    event = event_of(org_a)
    assert event.processed_at is None and event.enqueued_at is None

    # The worker alone never hears of it ...
    worker = start_celery("worker")
    # ... until the scheduler's sweeper re-enqueues what is still pending.
    start_celery("beat", OUTBOX_SWEEP_SECONDS="1", OUTBOX_STALE_SECONDS="1")
    assert wait_for(lambda: event_of(org_a).processed_at is not None), worker.log()
    assert event_of(org_a).attempts == 1


def test_aut8_events_saved_while_no_relay_ran_go_out_when_one_starts(
    org_a, admin_a, start_celery, start_relay
):
    with scope(org=org_a):
        for name in ("Ito", "Abe", "Ueda"):
            contact_create(org=org_a, actor=admin_a, data={"last_name": name})
    worker = start_celery("worker")
    relay = start_relay()

    def all_processed():
        with scopes_disabled():
            return not RecordEvent.objects.filter(org=org_a, processed_at=None).exists()

    assert wait_for(all_processed, 20), relay.log() + worker.log()
    with scopes_disabled():
        assert set(RecordEvent.objects.values_list("attempts", flat=True)) == {1}

    relay.popen.send_signal(signal.SIGTERM)
    assert relay.popen.wait(timeout=10) == 0
    assert "Outbox relay stopped" in relay.log()


def test_aut8_relay_survives_losing_its_database_connection(
    org_a, admin_a, start_celery, start_relay
):
    """The database restarts under the relay (here: its session is terminated): it reconnects,
    listens again and hands over the next change."""
    from django.db import connection

    relay = start_relay()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchall(), "the relay had a session to lose"
    assert wait_for(lambda: "reconnecting" in relay.log(), 20), relay.log()
    worker = start_celery("worker")
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data={"last_name": "Sato"})
    assert wait_for(lambda: event_of(org_a).processed_at is not None, 20), (
        relay.log() + worker.log()
    )
    assert relay.popen.poll() is None
