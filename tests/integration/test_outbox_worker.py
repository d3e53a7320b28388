"""AUT-8 with real processes: a committed change is processed by a Celery worker running in
its own process; a change saved while the broker was down waits, and the scheduler's sweeper
hands it to the worker later. Nothing is lost, nothing is processed twice."""

import subprocess
import sys

import pytest
from django_scopes import scope, scopes_disabled

from records.models import RecordEvent
from records.services import contact_create
from tests.workers import ROOT, process_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def event_of(org):
    with scopes_disabled():
        return RecordEvent.objects.filter(org=org).first()


def test_aut8_real_worker_processes_a_committed_event(org_a, admin_a, start_celery):
    worker = start_celery("worker")
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data={"last_name": "Sato", "email": "s@x.jp"})
    assert wait_for(lambda: event_of(org_a).processed_at is not None), worker.log()
    event = event_of(org_a)
    assert event.attempts == 1
    assert "process_record_event_task" in worker.log()


def test_aut8_event_saved_while_broker_is_down_is_swept_to_the_worker(org_a, admin_a, start_celery):
    # A web process whose broker is unreachable saves a contact: the save succeeds.
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
        env=process_env(CELERY_BROKER_URL="redis://127.0.0.1:1/0"),
    )
    assert web.returncode == 0 and "saved" in web.stdout, web.stderr
    assert "left for the sweeper" in web.stderr
    assert event_of(org_a).processed_at is None

    # The worker alone never hears of it ...
    worker = start_celery("worker")
    # ... until the scheduler's sweeper re-enqueues what is still pending.
    start_celery("beat", OUTBOX_SWEEP_SECONDS="1", OUTBOX_STALE_SECONDS="1")
    assert wait_for(lambda: event_of(org_a).processed_at is not None), worker.log()
    assert event_of(org_a).attempts == 1
