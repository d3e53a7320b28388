"""A pytest plugin (loaded in tests/conftest.py): real processes for tests about workers — a
Celery worker (and beat), and the outbox relay, each in its own process, on the Redis broker,
against the test database."""

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

from crm_portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


def database_url_for_test_db() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def process_env(**overrides) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_test_db(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    env.update(overrides)
    return env


def wait_for(predicate, timeout=60.0, interval=0.2):
    """Poll `predicate` until it holds. The timeout is generous for a loaded machine: waiting
    it out only costs time when something is broken."""
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

    def until_ready(self, ready: str, timeout: float = 120) -> "Process":
        """Wait until the log says `ready`; fails with the log if the process ends first."""
        started = wait_for(lambda: ready in self.log() or self.popen.poll() is not None, timeout)
        assert started, self.log()
        assert self.popen.poll() is None, self.log()
        return self

    def stop(self):
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
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


def queued_tasks(queue: str = "celery") -> list[tuple[str, list]]:
    """What waits in the real broker's queue, oldest first, as (task name, args)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        raw = client.lrange(queue, 0, -1)
    finally:
        client.close()
    tasks = []
    for item in reversed(raw):  # kombu pushes on the left; a worker takes from the right
        message = json.loads(item)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], args))
    return tasks


class BrokerLink:
    """The network between a process and the real Redis broker, which fails after it has carried
    `publishes` messages (LPUSH): the reply to the last one gets through, then every connection
    is cut and new ones are closed as soon as they open. Point a process's CELERY_BROKER_URL at
    `url` to lose the broker in the middle of a batch."""

    def __init__(self, broker_url: str, *, publishes: int):
        target = urlsplit(broker_url)
        self._target = (target.hostname, target.port or 6379)
        self._publishes_left = publishes
        self._cut_after_reply = False
        self._down = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        self.url = target._replace(netloc=f"127.0.0.1:{port}").geturl()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self._listener.accept()
            except OSError:  # close()
                return
            with self._lock:
                if self._down:
                    client.close()
                    continue
                server = socket.create_connection(self._target)
                self._sockets += [client, server]
            threading.Thread(target=self._to_broker, args=(client, server), daemon=True).start()
            threading.Thread(target=self._to_client, args=(server, client), daemon=True).start()

    def _to_broker(self, client: socket.socket, server: socket.socket) -> None:
        tail = b""  # a command name split between two reads is still seen
        while data := self._recv(client):
            pushes = (tail + data).count(b"LPUSH")
            tail = data[-4:]
            with self._lock:
                if pushes and self._publishes_left <= 0:
                    self._cut()
                    return
                self._publishes_left -= pushes
                if pushes and self._publishes_left <= 0:
                    self._cut_after_reply = True
            if not self._send(server, data):
                return

    def _to_client(self, server: socket.socket, client: socket.socket) -> None:
        while data := self._recv(server):
            if not self._send(client, data):
                return
            with self._lock:
                if self._cut_after_reply:
                    self._cut()
                    return

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    @staticmethod
    def _send(sock: socket.socket, data: bytes) -> bool:
        try:
            sock.sendall(data)
        except OSError:
            return False
        return True

    def _cut(self) -> None:
        self._down = True
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._sockets.clear()

    def close(self) -> None:
        with self._lock:
            self._cut()
        self._listener.close()


@pytest.fixture
def broker_link(real_broker):
    """`broker_link(publishes=n)`: a BrokerLink to the real broker, closed after the test."""
    links = []

    def link(*, publishes: int) -> BrokerLink:
        links.append(BrokerLink(real_broker, publishes=publishes))
        return links[-1]

    yield link
    for each in links:
        each.close()
