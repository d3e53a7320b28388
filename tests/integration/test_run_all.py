"""`make run` on the embedded defaults (Foundation, AUT-8): web, outbox relay, worker and
scheduler start on an SQLite file and the filesystem broker, the worker in its own process
really processes events written by another process, the broker keeps its files in var/ (not in
the checkout), and Ctrl-C stops them all."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser

import pytest
import requests

from tests.workers import ROOT, wait_for
from users.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.integration


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc (children first found by their parent)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()  # noqa: SIM115
            except OSError:
                continue
            parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def running(pid: int) -> bool:
    """True while `pid` is a live process (an exited, unreaped zombie counts as gone)."""
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


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


class FormDefaults(HTMLParser):
    """What a browser would post for the form with the given action: every field's default."""

    def __init__(self, action):
        super().__init__()
        self.action, self.inside, self.select, self.data = action, False, None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("action", "") == self.action
        elif not self.inside:
            return
        elif tag == "input" and attrs.get("name"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data.setdefault(attrs["name"], attrs.get("value", ""))
        elif tag == "select":
            self.select = attrs.get("name")
        elif tag == "option" and self.select:
            if "selected" in attrs or self.select not in self.data:
                self.data[self.select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "form":
            self.inside = False


def invite_over_http(base, email):
    """Sign in as the demo admin and invite a new CRM user, as a person would in the browser."""
    session = requests.Session()
    login = session.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)[1]
    signed_in = session.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "login": DEMO_EMAIL, "password": DEMO_PASSWORD},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=30,
    )
    assert "/o/acme/" in signed_in.url, signed_in.text[:2000]
    form_page = session.get(f"{base}/o/acme/users/new/", timeout=30)
    form = FormDefaults("")
    form.feed(form_page.text)
    data = {**form.data, "first_name": "Port", "last_name": "Tester", "email": email}
    added = session.post(
        f"{base}/o/acme/users/new/",
        data=data,
        headers={"Referer": f"{base}/o/acme/users/new/"},
        timeout=30,
    )
    assert added.status_code == 200 and email in added.text, added.text[:2000]


def test_foundation_run_all_serves_processes_events_and_stops_on_ctrl_c(tmp_path):
    """Also issue 17: `make run PORT=…` — RUN_ADDR as the Makefile passes it — serves there,
    and the invitation mail printed on the console links to that address."""
    env = embedded_env(tmp_path)
    started = time.time()
    manage(env, "migrate", "--noinput")
    assert "Demo organisation 'Acme' created" in manage(env, "seed_demo")
    port = free_port()
    env["RUN_ADDR"] = f"127.0.0.1:{port}"

    def printed():
        return (tmp_path / "run_all.log").read_text()

    log = open(tmp_path / "run_all.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_all"],
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
        assert "Mail: printed below" in printed()
        assert "No hostname was supplied" not in printed(), "kombu's warning is gone"

        invite_over_http(f"http://127.0.0.1:{port}", "port.tester@acme.example")
        link = re.compile(rf"http://127\.0\.0\.1:{port}/invite/[\w-]+/")
        assert wait_for(lambda: link.search(printed()), 120), printed()

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
        # web, relay, worker (with its pool of 2) and beat: at least 6 processes
        started_processes = descendants(proc.pid)
        assert len(started_processes) >= 6, started_processes
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
    left = [pid for pid in started_processes if running(pid)]
    assert not left, "no relay, worker (nor its pool), beat or web left running"


def test_issue17_run_all_refuses_a_taken_port_with_a_clear_message(tmp_path):
    env = embedded_env(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "run_all", "--addr", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"make run PORT={port + 1}" in result.stderr
    assert "Traceback" not in result.stderr


def test_issue17_make_run_port_passes_the_address_on():
    """`make run PORT=8123` hands RUN_ADDR=127.0.0.1:8123 to run_all (which the test above
    follows through to the mail's links); RUN_ADDR itself wins over PORT."""
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert dry.returncode == 0, dry.stderr
    assert "RUN_ADDR=127.0.0.1:8123" in dry.stdout and "manage.py run_all" in dry.stdout
    dry = subprocess.run(
        ["make", "-n", "run", "RUN_ADDR=0.0.0.0:9000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "RUN_ADDR=0.0.0.0:9000" in dry.stdout
