"""A pytest plugin (loaded in tests/conftest.py): real processes for tests about workers — a
Celery worker (and beat), and the outbox relay, each in its own process, on the Redis broker,
against the test database."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from crm_portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def process_env(**overrides) -> dict:
    env = {**os.environ, "DATABASE_URL": test_database_url(), "CELERY_TASK_ALWAYS_EAGER": "false"}
    env.update(overrides)
    return env


def wait_for(predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class Process:
    def __init__(self, name, command, env, tmp_path):
        self.log_path = tmp_path / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def until_ready(self, ready: str) -> "Process":
        """Wait until the log says `ready`; fails with the log if the process ends first."""
        assert wait_for(lambda: ready in self.log() or self.popen.poll() is not None), self.log()
        assert self.popen.poll() is None, self.log()
        return self

    def stop(self):
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()


@pytest.fixture
def real_broker(monkeypatch):
    """The test process publishes to the real Redis broker instead of running tasks eagerly."""
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "integration tests need Redis"
    monkeypatch.setattr(celery_app.conf, "task_always_eager", False)
    celery_app.control.purge()
    return settings.CELERY_BROKER_URL


@pytest.fixture
def start_celery(tmp_path, real_broker):
    started = []

    def start(kind="worker", *, name=None, **env_overrides):
        """`name` names the log (default: the kind), for a test that runs two at once."""
        if kind == "worker":
            args = [
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ]
        else:
            args = ["beat", "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}"]
        proc = Process(
            name or kind,
            [sys.executable, "-m", "celery", "-A", "crm_portal", *args],
            process_env(CELERY_BROKER_URL=real_broker, **env_overrides),
            tmp_path,
        )
        started.append(proc)
        return proc.until_ready("ready." if kind == "worker" else "beat: Starting...")

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def start_relay(tmp_path, real_broker):
    """`manage.py outbox_relay` in its own process; it publishes to the real broker unless
    CELERY_BROKER_URL is overridden."""
    started = []

    def start(*args, **env_overrides):
        env = process_env(**{"CELERY_BROKER_URL": real_broker, **env_overrides})
        name = f"relay-{len(started) + 1}"
        command = [sys.executable, "manage.py", "outbox_relay", *args]
        proc = Process(name, command, env, tmp_path)
        started.append(proc)
        return proc.until_ready("Outbox relay started")

    yield start
    for proc in started:
        proc.stop()
