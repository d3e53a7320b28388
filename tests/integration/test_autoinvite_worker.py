"""Auto-invite with real processes (AUT-5, AUT-8, AUT-12): the relay and Celery workers
against PostgreSQL and Redis, mail to an aiosmtpd sink. Whatever happens — an event delivered
twice, two workers at once, a worker SIGKILLed in the middle of a batch, the broker out of
the relay's reach when the contacts are saved — every matching contact gets exactly one
invitation, in its language."""

import email
import email.policy
import re
import signal
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from portals.models import AutoInviteRule, PortalUser
from records.models import RecordEvent
from records.outbox import process_record_events_task
from records.services import contact_create
from tests.integration.autoinvite_hold import HOLDING, SLOW
from tests.invitations.test_delivery import free_port
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.workers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PAID = {"conditions": [{"field": "subscription", "op": "is", "value": "paid"}], "pattern": ""}
JAPAN = {"conditions": [{"field": "country", "op": "is", "value": "JP"}], "pattern": ""}
ANYONE = {"conditions": [], "pattern": ""}


class Sink:
    """An SMTP server that keeps every message it accepts."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.rcpt_tos[0], str(message["subject"])))
        return "250 Message accepted for delivery"

    def recipients(self) -> list[str]:
        return sorted(to for to, _subject in self.received)


@pytest.fixture
def sink():
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def rule(org_a):
    with scopes_disabled():
        portal = PortalFactory(org=org_a, name="Help centre", languages=["en", "ja"])
        return AutoInviteRule.objects.create(
            org=org_a,
            portal=portal,
            group=UserGroupFactory(portal=portal),
            is_enabled=True,
            enabled_at=timezone.now() - timedelta(minutes=1),
            language_mode=AutoInviteRule.LanguageMode.MULTIPLE,
            common_conditions=PAID,
            languages=[
                {"language": "ja", "conditions": JAPAN},
                {"language": "en", "conditions": ANYONE},
            ],
        )


@pytest.fixture
def worker_env(sink, tmp_path):
    return {
        "DJANGO_SETTINGS_MODULE": "tests.integration.autoinvite_settings",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "HOLD_DIR": str(tmp_path),
        "OUTBOX_STALE_SECONDS": "3",
        "OUTBOX_SWEEP_SECONDS": "2",
        "OUTBOX_RETRY_BASE_SECONDS": "1",
        "AUTO_INVITE_SEND_SWEEP_SECONDS": "2",
    }


def create_contacts(org, actor, count, *, first=0, slow_at=None) -> list[str]:
    """Contacts n = first … first + count - 1, in one transaction (the relay finds them all at
    once, so batches are full): even ones paid (invited; every fourth in Japan), odd ones free.
    Returns the addresses that must get an invitation."""
    expected = []
    with scope(org=org), transaction.atomic():
        for n in range(first, first + count):
            paid = n % 2 == 0
            contact_create(
                org=org,
                actor=actor,
                data={
                    "last_name": SLOW if n == slow_at else f"Mori{n}",
                    "email": f"c{n}@example.jp",
                    "subscription": "paid" if paid else "free",
                    "country": "JP" if n % 4 == 0 else "FR",
                },
            )
            if paid:
                expected.append(f"c{n}@example.jp")
    return sorted(expected)


def portal_users_of(rule) -> list[PortalUser]:
    with scopes_disabled():
        return list(PortalUser.objects.filter(portal=rule.portal))


def all_processed(org) -> bool:
    with scopes_disabled():
        return not RecordEvent.objects.filter(org=org, processed_at=None).exists()


def assert_each_invited_once_in_its_language(sink, expected, logs):
    assert wait_for(lambda: len(sink.received) >= len(expected), 120), logs()
    assert sink.recipients() == expected, "one invitation each, none twice"
    for to, subject in sink.received:
        n = int(to[1:].split("@")[0])
        assert ("への招待" in subject) is (n % 4 == 0), (to, subject)


def test_aut5_duplicate_delivery_and_two_workers_invite_each_contact_once(
    org_a, admin_a, rule, sink, worker_env, start_celery, start_relay, real_broker
):
    workers = [start_celery("worker", name=f"worker-{n}", **worker_env) for n in (1, 2)]
    relay = start_relay(**worker_env)

    def logs():
        return "".join(p.log() for p in (*workers, relay))

    expected = create_contacts(org_a, admin_a, 40)
    assert wait_for(lambda: all_processed(org_a), 120), logs()
    # Every event handed over again, twice, in batches both workers take at once.
    with scopes_disabled():
        ids = list(RecordEvent.objects.filter(org=org_a).values_list("pk", flat=True))
    for _copy in range(2):
        for start in range(0, len(ids), 7):
            process_record_events_task.apply_async((org_a.pk, ids[start : start + 7]))
    assert_each_invited_once_in_its_language(sink, expected, logs)
    assert wait_for(lambda: "nothing to do" in logs(), 60), logs()
    assert sorted(pu.email for pu in portal_users_of(rule)) == expected
    assert sink.recipients() == expected, "the duplicates sent nothing"


def test_aut8_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    org_a, admin_a, rule, sink, worker_env, start_celery, start_relay, tmp_path
):
    first = start_celery("worker", name="worker-1", **worker_env)
    relay = start_relay(OUTBOX_TASK_BATCH_SIZE="10", **worker_env)
    expected = create_contacts(org_a, admin_a, 20, slow_at=4)
    assert wait_for(lambda: HOLDING in first.log(), 120), first.log() + relay.log()
    held = int(re.search(HOLDING + r" of (\d+) events", first.log()).group(1))
    assert held > 1, "the kill comes in the middle of a batch"
    first.popen.send_signal(signal.SIGKILL)
    first.popen.wait(timeout=30)
    assert "c4@example.jp" not in [pu.email for pu in portal_users_of(rule)], (
        "the killed batch's portal users were never committed"
    )
    # A second worker and beat's sweeper: the killed batch was never committed, so its
    # events are still pending and go out again once stale.
    second = start_celery("worker", name="worker-2", **worker_env)
    beat = start_celery("beat", **worker_env)

    def logs():
        return first.log() + second.log() + beat.log() + relay.log()

    assert_each_invited_once_in_its_language(sink, expected, logs)
    assert wait_for(lambda: all_processed(org_a), 120), logs()
    assert sorted(pu.email for pu in portal_users_of(rule)) == expected


def test_aut8_broker_out_of_reach_at_commit_then_the_sweeper_delivers(
    org_a, admin_a, rule, sink, worker_env, start_celery, start_relay
):
    """The relay cannot reach the broker when the contacts are saved: the events wait; beat's
    sweeper (whose broker is fine) hands them over once stale, each contact invited once."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    relay = start_relay(**{**worker_env, "CELERY_BROKER_URL": dead})
    expected = create_contacts(org_a, admin_a, 12)
    assert wait_for(lambda: "could not publish" in relay.log(), 60), relay.log()
    with scopes_disabled():
        assert not RecordEvent.objects.filter(org=org_a, processed_at__isnull=False).exists()
    worker = start_celery("worker", **worker_env)
    beat = start_celery("beat", **worker_env)

    def logs():
        return worker.log() + beat.log() + relay.log()

    assert_each_invited_once_in_its_language(sink, expected, logs)
    assert wait_for(lambda: all_processed(org_a), 120), logs()
