"""Relay and sweeper connect to the broker before they claim events (AUT-8, found by
tests/integration/test_outbox_drill.py): kombu tries for seconds to reach a broker that is down,
and events claimed meanwhile looked handed over; the sweeper took them for lost once that
lasted longer than the stale time, and the copy it sent arrived beside the original."""

import kombu
import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from kombu.exceptions import OperationalError as BrokerError

from records.models import RecordEvent
from records.outbox import record_events_sweep
from records.relay import record_events_relay
from records.services import contact_create


@pytest.fixture
def broker_down(monkeypatch):
    """The broker does not answer; `claimed` records what was claimed while we tried."""
    claimed = []

    def ensure_connection(self, *args, **kwargs):
        with scopes_disabled():
            claimed.append(RecordEvent.objects.filter(enqueued_at__isnull=False).count())
        raise BrokerError("Error 111 connecting to the broker. Connection refused.")

    monkeypatch.setattr(kombu.Connection, "ensure_connection", ensure_connection)
    return claimed


def test_aut8_while_the_broker_is_down_the_relay_claims_nothing(org_a, admin_a, broker_down):
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data={"last_name": "Mori"})
    with pytest.raises(BrokerError):
        record_events_relay()
    assert broker_down == [0]
    with scopes_disabled():
        assert RecordEvent.objects.get().enqueued_at is None


def test_aut8_while_the_broker_is_down_the_sweeper_claims_nothing(
    org_a, admin_a, broker_down, settings
):
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data={"last_name": "Mori"})
    with pytest.raises(BrokerError):
        record_events_sweep(now=timezone.now() + settings.OUTBOX_STALE_AFTER * 2)
    assert broker_down == [0]
    with scopes_disabled():
        event = RecordEvent.objects.get()
    assert event.enqueued_at is None and event.resent_count == 0
