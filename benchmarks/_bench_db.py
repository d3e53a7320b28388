"""Shared by the benchmarks: creating and dropping their throwaway PostgreSQL database.
and running a script again as a child process. (Imported as a sibling module: the scripts
run as `python benchmarks/<name>.py`.)"""

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


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
