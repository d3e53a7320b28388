"""`make run` on the embedded defaults (Foundation, AUT-8): web, outbox relay, worker and
scheduler start on an SQLite file and the filesystem broker, the worker in its own process
really processes events written by another process, the broker keeps its files in var/ (not in
the checkout), and Ctrl-C stops them all."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.workers import ROOT, wait_for

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def embedded_env(var_dir) -> dict:
    keep = ("PATH", "HOME", "LANG")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        DEBUG="true", VAR_DIR=str(var_dir), OUTBOX_SWEEP_SECONDS="2", OUTBOX_STALE_SECONDS="1"
    )
    return env


def manage(env, *args, timeout=300):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def get_json(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except OSError:
        return None, None


def healthy(url) -> bool:
    status, body = get_json(url)
    return status == 200 and body["broker"] == "ok"


def test_foundation_run_all_serves_processes_events_and_stops_on_ctrl_c(tmp_path):
    env = embedded_env(tmp_path)
    started = time.time()
    manage(env, "migrate", "--noinput")
    assert "Demo organisation 'Acme' created" in manage(env, "seed_demo")
    port = free_port()

    def printed():
        return (tmp_path / "run_all.log").read_text()

    log = open(tmp_path / "run_all.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_all", "--addr", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    try:
        assert wait_for(lambda: healthy(f"http://127.0.0.1:{port}/healthz"), 120), printed()
        # Each process writes its own lines when it gets there: wait for them, whatever order.
        assert wait_for(lambda: "admin@acme.example" in printed()), printed()
        assert f"http://127.0.0.1:{port}/" in printed()
        assert wait_for(lambda: "Outbox relay started" in printed()), printed()
        assert "Outbox relay started (polling every" in printed(), "SQLite has no LISTEN"

        # Events written by seed_demo (another process) are processed by the worker process.
        count_pending = (
            "from django_scopes import scopes_disabled\n"
            "from records.models import RecordEvent\n"
            "with scopes_disabled(): print(RecordEvent.objects.filter(processed_at=None).count())"
        )
        assert wait_for(
            lambda: manage(env, "shell", "--verbosity", "0", "-c", count_pending).strip() == "0",
            300,
            interval=2,
        ), printed()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        code = proc.wait(timeout=60)
        log.close()
    assert code == 0
    assert (tmp_path / "broker" / "control" / "celery.exchange").exists()
    written_to_checkout = [
        path for path in (ROOT / "control").glob("*") if path.stat().st_mtime >= started
    ]
    assert not written_to_checkout, "the filesystem broker wrote into the checkout"
    assert get_json(f"http://127.0.0.1:{port}/healthz")[0] is None, "web stopped"
    with pytest.raises(ProcessLookupError):  # no relay, worker, beat or web left
        os.killpg(proc.pid, 0)
