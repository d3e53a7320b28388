"""Issue 16, operator docs: the log format. Text by default ("time LEVEL logger [pid]
message"); LOG_FORMAT=json gives one JSON object a line, a traceback inside it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = """
import logging, django
django.setup()
log = logging.getLogger("crm_portal.drill")
log.warning("relay behind: %s events", 3)
try:
    1 / 0
except ZeroDivisionError:
    log.exception("Sync failed für 日本")
"""


def log_lines(**env) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", CODE],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "crm_portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stderr.splitlines()


def test_issue16_text_logs_say_when_what_who_and_which_process():
    lines = log_lines(LOG_FORMAT="text")
    pattern = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING crm_portal.drill \[\d+\] "
    assert re.match(pattern + r"relay behind: 3 events$", lines[0]), lines
    assert "ZeroDivisionError" in "\n".join(lines[1:])


def test_issue16_json_logs_are_one_object_a_line_with_the_traceback_inside():
    lines = log_lines(LOG_FORMAT="json")
    assert len(lines) == 2, lines
    warning, error = (json.loads(line) for line in lines)
    assert warning["level"] == "WARNING" and warning["logger"] == "crm_portal.drill"
    assert warning["message"] == "relay behind: 3 events"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", warning["time"])
    assert warning["process"] > 0
    assert error["message"] == "Sync failed für 日本"
    assert "ZeroDivisionError" in error["exception"]
