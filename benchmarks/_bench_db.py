"""Shared by the benchmarks: creating and dropping their throwaway PostgreSQL database.
and running a script again as a child process. (Imported as a sibling module: the scripts
run as `python benchmarks/<name>.py`.)"""

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def spawn_child(script: str, kind: str, **more) -> dict:
    """Run benchmark `script` again as child `kind` (`--child kind --option value …`); returns
    what the child printed after "RESULT ", as a dict. A child that fails stops the run with
    its output."""
    command = [sys.executable, script, "--child", kind]
    for option, value in more.items():
        command += [f"--{option}", value]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"child {kind} failed (exit {done.returncode})")
    return json.loads(lines[-1].removeprefix("RESULT "))


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead."""
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def database_admin(action: str, server_url: str, name: str) -> dict:
    """CREATE or DROP DATABASE `name` from the server's `postgres` database; {} or {"error"}.
    Callers run it in a child: psycopg alone would add 20 MB to the parent's ru_maxrss, and
    to every child's with it."""
    try:
        if not server_url.startswith(("postgres://", "postgresql://")):
            raise ValueError(f"DATABASE_URL is not PostgreSQL ({urlsplit(server_url).scheme})")
        import psycopg

        admin_url = with_database(server_url, "postgres")
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            if action == "create":
                conn.execute(f'CREATE DATABASE "{name}"')
            else:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as error:  # no server, no psycopg, no rights
        return {"error": f"{type(error).__name__}: {error}".strip()}
    return {}


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages, for a benchmark's output."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def bench_env_defaults(*, eager: bool = True, broker: str = "memory://") -> None:
    """Settings of a benchmark child that measures the app in-process: the project's, with
    DEBUG (no real secret needed), no Redis, tasks run eagerly — or, with eager=False,
    published for real to `broker` and never run inline."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm_portal.settings"
    os.environ["DEBUG"] = "true"  # so that the settings load without a real secret
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true" if eager else "false"
    os.environ["REDIS_URL"] = ""
    os.environ["CELERY_BROKER_URL"] = broker


@contextmanager
def throwaway_database(script: str, *, sqlite_dir: Path | None = None, **child_options):
    """Yields (DATABASE_URL, description) of an empty PostgreSQL database (BENCH_DB_NAME, else
    one named after this process) that is gone afterwards. When no server answers: an SQLite
    file in `sqlite_dir` if given, else (None, why not). `script` runs the createdb and
    dropdb children (see database_admin), with `child_options` as more --options."""
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    name = os.environ.get("BENCH_DB_NAME") or f"crm_portal_bench_{os.getpid()}"
    created = spawn_child(script, "createdb", url=server_url, name=name, **child_options)
    if created.get("error"):
        unavailable = created["error"].splitlines()[0]
        if sqlite_dir is None:
            yield None, unavailable
        else:
            path = sqlite_dir / "bench.sqlite3"
            yield f"sqlite:///{path}", f"SQLite {path} (PostgreSQL unavailable: {unavailable})"
        return
    try:
        host = urlsplit(server_url).hostname or "localhost"
        yield with_database(server_url, name), f"PostgreSQL {name} on {host} (dropped at the end)"
    finally:
        dropped = spawn_child(script, "dropdb", url=server_url, name=name, **child_options)
        if dropped.get("error"):
            print(f"could not drop {name}: {dropped['error']}", file=sys.stderr)
