"""The whole topology on loopback for the operations drill (issue 16): a private PostgreSQL
cluster and a private Redis of the drill's own (so it may stop and restart them without
touching the suite's), gunicorn, the outbox relay, Celery workers and beat as real processes,
and an SMTP sink. Everything started here is stopped here, by PID."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email import message_from_bytes
from pathlib import Path

import psycopg
import redis
from aiosmtpd.controller import Controller

from tests.workers import ROOT, Process, wait_for

sys.path.insert(0, str(ROOT / "scripts"))
from with_test_services import as_postgres_user, postgres_bindir  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, on its own port, that the drill may stop
    and start again (same port, same data)."""

    def __init__(self):
        self.bindir = postgres_bindir()
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix="crm-drill-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust")

    def _run(self, program: str, *args: str, check=True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            as_postgres_user([str(self.bindir / program), *args]),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert done.returncode == 0 or not check, f"{program} failed:\n{done.stdout}"
        return done

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    @property
    def log(self) -> Path:
        return self.data / "server.log"

    def execute(self, sql: str, params=(), database: str = "drill"):
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            rows = conn.execute(sql, params)
            return rows.fetchall() if rows.description else None

    def dump_and_restore(self, source: str, target: str) -> int:
        """pg_dump in the custom format, then pg_restore into a new database (the README's
        backup and restore, issue 16); the dump's size in bytes."""
        folder = Path(tempfile.mkdtemp(prefix="crm-drill-dump-"))
        if os.geteuid() == 0:  # pg_dump runs as postgres and writes there
            shutil.chown(folder, "postgres", "postgres")
        dump = folder / f"{source}.dump"
        try:
            self._run("pg_dump", "-Fc", "-d", self.url(source), "-f", str(dump))
            self.execute(f'CREATE DATABASE "{target}"', database="postgres")
            self._run("pg_restore", "--no-owner", "-d", self.url(target), str(dump))
            return dump.stat().st_size
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


class PrivateRedis:
    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url(0))
        assert wait_for(lambda: _pings(client), timeout=30), "the drill's Redis did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.RedisError:
        return False


class MailSink:
    """aiosmtpd in this process: every message the workers hand to SMTP, parsed."""

    def __init__(self):
        self.messages: list = []
        self._arrived: dict[str, float] = {}
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = message_from_bytes(envelope.content)
        with self._lock:
            self.messages.append(message)
            for address in envelope.rcpt_tos:
                self._arrived.setdefault(address.lower(), time.time())
        return "250 OK"

    def recipients(self) -> list[str]:
        """One entry per message and recipient: an address twice is a duplicate."""
        with self._lock:
            return [str(m["To"]).lower() for m in self.messages]

    def arrivals(self) -> dict[str, float]:
        """When each address got its first message (epoch seconds)."""
        with self._lock:
            return dict(self._arrived)


class Topology:
    """gunicorn (2 workers), the relay, Celery workers and beat on the private services."""

    def __init__(self, tmp_path: Path, postgres: PrivatePostgres, broker: PrivateRedis, sink):
        self.tmp_path = tmp_path
        self.web_port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "crm_portal.settings",
            "DEBUG": "false",
            "DATABASE_URL": postgres.url("drill"),
            "DB_CONN_MAX_AGE": "0",
            "REDIS_URL": broker.url(0),
            "CELERY_BROKER_URL": broker.url(1),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink.controller.port),
            "SITE_URL": f"http://127.0.0.1:{self.web_port}",
            "API_RATE_LIMIT_PER_MINUTE": "1000000",
            "OUTBOX_STALE_SECONDS": "3",
            "OUTBOX_SWEEP_SECONDS": "2",
            "OUTBOX_RETRY_BASE_SECONDS": "1",
            "OUTBOX_RETRY_MAX_SECONDS": "8",
            "MAIL_RETRY_BASE_SECONDS": "1",
            "OUTBOX_LOG_SECONDS": "2",
            "AUTO_INVITE_SENDS_PER_MINUTE": "100000",
            "AUTO_INVITE_SEND_SWEEP_SECONDS": "2",
            # A mail whose task died with a killed worker is sent again after 10 s.
            "INVITATION_DELIVERY_STALE_SECONDS": "10",
            "INVITATION_DELIVERY_SWEEP_SECONDS": "2",
        }
        self.processes: dict[str, Process] = {}
        self._count: dict[str, int] = {}

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout
        return done.stdout

    def _start(self, kind: str, command: list[str], ready: str, *, times: int = 1) -> Process:
        self._count[kind] = self._count.get(kind, 0) + 1
        name = f"{kind}-{self._count[kind]}"
        proc = Process(name, command, self.env, self.tmp_path)
        self.processes[name] = proc
        alive = wait_for(
            lambda: proc.log().count(ready) >= times or proc.popen.poll() is not None, 180
        )
        assert alive and proc.popen.poll() is None, proc.log()
        return proc

    def start_web(self) -> Process:
        command = [sys.executable, "-m", "gunicorn", "crm_portal.wsgi"]
        command += ["--bind", f"127.0.0.1:{self.web_port}", "--workers", "2"]
        return self._start("web", command, "Booting worker", times=2)

    def start_relay(self) -> Process:
        command = [sys.executable, "manage.py", "outbox_relay"]
        return self._start("relay", command, "Outbox relay started")

    def start_worker(self) -> Process:
        number = self._count.get("worker", 0) + 1
        command = [sys.executable, "-m", "celery", "-A", "crm_portal", "worker", "--pool=solo"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        command += ["--loglevel=INFO", "-n", f"drill{number}@%h"]
        return self._start("worker", command, "ready.")

    def start_beat(self) -> Process:
        command = [sys.executable, "-m", "celery", "-A", "crm_portal", "beat", "--loglevel=INFO"]
        command += [f"--schedule={self.tmp_path / 'beat-schedule'}"]
        return self._start("beat", command, "beat: Starting...")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def stop_all(self) -> None:
        for proc in self.processes.values():
            proc.stop()


def kill(proc: Process) -> None:
    """SIGKILL: no goodbye, no ack, mid-transaction."""
    proc.popen.send_signal(signal.SIGKILL)
    proc.popen.wait(timeout=30)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
