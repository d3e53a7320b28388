"""Run a command (the test suite) with PostgreSQL and Redis answering — bringing them if needed.

    python scripts/with_test_services.py python -m pytest ...

When the servers named by DATABASE_URL and REDIS_URL answer (CI, a developer's machine), the
command runs against them and nothing is started. When one does not, this installs Debian's
package for it if its programs are missing (`apt-get`, through `sudo` when not root), starts a
private instance on a free loopback port with its data under var/test-services/, points the
command at it, and stops what it started — by PID — when the command ends, fails or is
interrupted (issue 17). Standard library only, apart from psycopg, which the project needs
anyway.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "var" / "test-services"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
READY_SECONDS = 60


class ServiceError(Exception):
    """Something a person must fix; its message says what."""


def say(message: str) -> None:
    print(f"[test-services] {message}", flush=True)


# --- do they answer? --------------------------------------------------------------------------


def postgres_answers(url: str) -> bool:
    import psycopg

    parts = urlsplit(url)
    try:
        with psycopg.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname=parts.path.lstrip("/") or "postgres",
            connect_timeout=3,
        ):
            return True
    except psycopg.Error:
        return False


def redis_answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3
        ) as conn:
            conn.sendall(b"PING\r\n")
            reply = conn.recv(64)
    except OSError:
        return False
    # "-NOAUTH" still means a Redis answered; the suite's own URL carries the password.
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- programs ---------------------------------------------------------------------------------


def postgres_bindir(search: list[str] | None = None) -> Path | None:
    """Debian keeps initdb and pg_ctl out of PATH, under /usr/lib/postgresql/<version>/bin."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb", path=os.pathsep.join(search) if search else None)
    return Path(found).parent if found else None


def redis_binary(search: list[str] | None = None) -> Path | None:
    found = shutil.which("redis-server", path=os.pathsep.join(search) if search else None)
    return Path(found) if found else None


def apt_install(packages: list[str], *, path: str | None = None) -> None:
    if not shutil.which("apt-get", path=path):
        raise ServiceError(
            "PostgreSQL and Redis are not answering and this system has no apt-get to install "
            f"them. Install {' and '.join(packages)} yourself (PostgreSQL 14+ with initdb and "
            "pg_ctl, Redis 6+), or point DATABASE_URL and REDIS_URL at servers that run."
        )
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    say(f"Installing {', '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


# --- starting and stopping --------------------------------------------------------------------


def as_postgres_user(command: list[str]) -> list[str]:
    """initdb refuses to run as root: as root, run PostgreSQL as the package's postgres user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def wait_until(check, what: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise ServiceError(f"{what} did not answer within {READY_SECONDS} s")
        time.sleep(0.2)


class Started:
    """What this run started, so that exactly that is stopped."""

    def __init__(self) -> None:
        self.postgres_dir: Path | None = None
        self.postgres_pid: int | None = None
        self.redis_pid: int | None = None

    def stop(self) -> None:
        if self.postgres_dir is not None:
            bindir = postgres_bindir()
            subprocess.run(
                as_postgres_user(
                    [str(bindir / "pg_ctl"), "-D", str(self.postgres_dir), "-m", "fast", "-w"]
                    + ["stop"]
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            say(f"Stopped PostgreSQL (pid {self.postgres_pid})")
            shutil.rmtree(self.postgres_dir, ignore_errors=True)
            self.postgres_dir = None
        if self.redis_pid is not None:
            try:
                os.kill(self.redis_pid, signal.SIGTERM)
                deadline = time.monotonic() + 15
                while pid_alive(self.redis_pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
            except ProcessLookupError:
                pass
            say(f"Stopped Redis (pid {self.redis_pid})")
            self.redis_pid = None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child still "exists": read its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


def start_postgres(started: Started) -> str:
    bindir = postgres_bindir()
    port = free_port()
    data = STATE / f"postgres-{port}"  # one per run: a test of this script runs beside the suite
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(
        as_postgres_user(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
            + ["--encoding=UTF8", "--locale=C.UTF-8"]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data} -c fsync=off"
    subprocess.run(
        as_postgres_user(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l"]
            + [str(data / "server.log"), "-w", "start"]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    started.postgres_dir = data
    started.postgres_pid = int((data / "postmaster.pid").read_text().split()[0])
    url = f"postgres://postgres@127.0.0.1:{port}/postgres"
    wait_until(lambda: postgres_answers(url), "PostgreSQL")
    say(f"Started PostgreSQL on 127.0.0.1:{port} (pid {started.postgres_pid}, data in {data})")
    return url


def start_redis(started: Started) -> str:
    STATE.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [str(redis_binary()), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(STATE)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches the suite, not Redis: it is stopped after it.
    )
    started.redis_pid = process.pid
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: redis_answers(url), "Redis")
    say(f"Started Redis on 127.0.0.1:{port} (pid {process.pid})")
    return url


def with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def main(command: list[str]) -> int:
    env = dict(os.environ)
    database_url = env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    need_postgres = not postgres_answers(database_url)
    need_redis = not redis_answers(redis_url)
    started = Started()
    if need_postgres or need_redis:
        missing = []
        if need_postgres and postgres_bindir() is None:
            missing.append("postgresql")
        if need_redis and redis_binary() is None:
            missing.append("redis-server")
        if missing:
            apt_install(missing)
        if need_postgres and postgres_bindir() is None or need_redis and redis_binary() is None:
            raise ServiceError("the packages installed but their programs were not found")

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        if need_postgres:
            say(f"Nothing answers at {database_url}: starting a private PostgreSQL")
            env["DATABASE_URL"] = start_postgres(started)
        if need_redis:
            say(f"Nothing answers at {redis_url}: starting a private Redis")
            env["REDIS_URL"] = start_redis(started)
            env["CELERY_BROKER_URL"] = with_db(env["REDIS_URL"], 1)
        child = subprocess.Popen(command, env=env)
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)
            return child.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        started.stop()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    try:
        sys.exit(main(sys.argv[1:]))
    except ServiceError as error:
        say(f"Cannot run the tests: {error}")
        sys.exit(2)
