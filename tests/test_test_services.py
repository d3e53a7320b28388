"""Issue 17: `make test` needs nothing installed beforehand but Python 3.11 and make. When no
PostgreSQL or Redis answers, scripts/with_test_services.py starts private ones on free loopback
ports, runs the suite against them, and stops exactly what it started."""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import with_test_services as test_services  # noqa: E402


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_script(env, *command):
    return subprocess.run(
        [sys.executable, "scripts/with_test_services.py", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def clean_env(**extra):
    keep = ("PATH", "HOME", "LANG", "LC_ALL")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, **extra}


@pytest.mark.skipif(
    test_services.postgres_bindir() is None or test_services.redis_binary() is None,
    reason="needs PostgreSQL's and Redis' programs (make test installs them when it needs them)",
)
def test_issue17_without_postgres_or_redis_make_test_starts_both_and_stops_them():
    dead_database = f"postgres://postgres@127.0.0.1:{unused_port()}/postgres"
    dead_redis = f"redis://127.0.0.1:{unused_port()}/0"
    assert not test_services.postgres_answers(dead_database)
    assert not test_services.redis_answers(dead_redis)

    result = run_script(
        clean_env(DATABASE_URL=dead_database, REDIS_URL=dead_redis),
        sys.executable,
        "-m",
        "pytest",
        "-m",
        "services",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_healthz.py",
    )
    out = result.stdout + result.stderr

    assert result.returncode == 0, out
    assert "1 passed" in out, "the marked subset ran, against the private servers"
    postgres = re.search(r"Started PostgreSQL on 127\.0\.0\.1:(\d+) \(pid (\d+)", out)
    redis = re.search(r"Started Redis on 127\.0\.0\.1:(\d+) \(pid (\d+)", out)
    assert postgres and redis, out
    assert "Stopped PostgreSQL" in out and "Stopped Redis" in out
    for _port, pid in (postgres.groups(), redis.groups()):
        assert not test_services.pid_alive(int(pid)), f"pid {pid} was left running"
    assert not test_services.postgres_answers(f"postgres://postgres@127.0.0.1:{postgres[1]}/")
    assert not test_services.redis_answers(f"redis://127.0.0.1:{redis[1]}/0")
    assert not list((ROOT / "var" / "test-services").glob(f"postgres-{postgres[1]}"))


def test_issue17_with_postgres_and_redis_answering_nothing_is_started():
    result = run_script(
        clean_env(DATABASE_URL=os.environ["DATABASE_URL"], REDIS_URL=os.environ["REDIS_URL"]),
        sys.executable,
        "-c",
        "import os; print('suite ran with', os.environ['DATABASE_URL'])",
    )
    assert result.returncode == 0, result.stderr
    assert f"suite ran with {os.environ['DATABASE_URL']}" in result.stdout
    assert "Started" not in result.stdout + result.stderr


def test_issue17_a_failing_suite_fails_make_test_and_still_stops_the_servers():
    dead_redis = f"redis://127.0.0.1:{unused_port()}/0"
    if test_services.redis_binary() is None:
        pytest.skip("needs redis-server")
    result = run_script(
        clean_env(DATABASE_URL=os.environ["DATABASE_URL"], REDIS_URL=dead_redis),
        sys.executable,
        "-c",
        "raise SystemExit(3)",
    )
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    pid = int(re.search(r"Started Redis on 127\.0\.0\.1:\d+ \(pid (\d+)", out)[1])
    assert "Stopped Redis" in out and not test_services.pid_alive(pid)


def test_issue17_without_apt_get_it_stops_at_once_naming_what_to_install(tmp_path):
    with pytest.raises(test_services.ServiceError) as error:
        test_services.apt_install(["postgresql", "redis-server"], path=str(tmp_path))
    assert "no apt-get" in str(error.value)
    assert "postgresql and redis-server" in str(error.value)
    assert "DATABASE_URL and REDIS_URL" in str(error.value)


def test_issue17_ctrl_c_stops_the_suite_and_the_servers_it_started():
    if test_services.redis_binary() is None:
        pytest.skip("needs redis-server")
    dead_redis = f"redis://127.0.0.1:{unused_port()}/0"
    process = subprocess.Popen(
        [
            sys.executable,
            "scripts/with_test_services.py",
            sys.executable,
            "-c",
            # A suite that runs until interrupted: it blocks on its input, which stays open.
            "import sys; print('suite running', flush=True); sys.stdin.read()",
        ],
        cwd=ROOT,
        env=clean_env(DATABASE_URL=os.environ["DATABASE_URL"], REDIS_URL=dead_redis),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    lines = []
    for line in process.stdout:  # blocks until each line: waits on the readiness lines
        lines.append(line)
        if "suite running" in line:
            break
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    rest, _ = process.communicate(timeout=120)
    out = "".join(lines) + rest
    pid = int(re.search(r"Started Redis on 127\.0\.0\.1:\d+ \(pid (\d+)", out)[1])
    assert process.returncode != 0
    assert "Stopped Redis" in out, out
    assert not test_services.pid_alive(pid), "Redis was left running after Ctrl-C"
