"""Issue 16, docker compose: the relay's container has a healthcheck — the age of a heartbeat
file that the relay touches after each round of its loop that reached the database (an idle
relay needs no broker; with events waiting, a round needs the broker too)."""

import os
import time

import pytest

from tests.workers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DEAD_DATABASE = "postgres://postgres@127.0.0.1:1/nowhere"


def age(path) -> float:
    return time.time() - os.stat(path).st_mtime


def test_issue16_relay_heartbeat_is_fresh_while_it_works_and_ages_when_cut_off(
    tmp_path, start_relay
):
    working = tmp_path / "working" / "relay.alive"
    cut_off = tmp_path / "cut-off" / "relay.alive"

    start_relay(OUTBOX_RELAY_HEARTBEAT_FILE=str(working))
    start_relay(OUTBOX_RELAY_HEARTBEAT_FILE=str(cut_off), DATABASE_URL=DEAD_DATABASE)

    assert wait_for(lambda: working.exists(), timeout=60)
    touched = os.stat(working).st_mtime
    assert wait_for(lambda: os.stat(working).st_mtime > touched, timeout=60), "not renewed"
    assert age(working) < 30
    assert not cut_off.exists(), "a relay cut off from its database must not look healthy"
