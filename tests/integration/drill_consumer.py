"""The outbox drill's consumer (AUT-8): it writes one row per event it is handed into the
table `drill_seen`, in the transaction that marks the event done — as auto-invite writes its
portal user. A row twice for one event is an event processed twice.

The first worker handed the contact named SLOW (in a batch) stays inside that transaction for
a while, after saying so in the log: the drill SIGKILLs it there, mid-event. (A marker file in
$DRILL_DIR, created exclusively, says it happened: the next delivery goes through.)"""

import logging
import os
import threading
from pathlib import Path

from django.db import connection

logger = logging.getLogger(__name__)

TABLE = "drill_seen"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "event_id bigint NOT NULL, pid integer NOT NULL, seen_at timestamptz NOT NULL DEFAULT now())"
)
DROP_TABLE = f"DROP TABLE IF EXISTS {TABLE}"
SLOW = "Slowpoke"
HOLDING = "Drill: holding event"


def remember(events) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {TABLE} (event_id, pid) VALUES (%s, %s)",
            [(event.pk, os.getpid()) for event in events],
        )
    for event in events:
        hold_if_slow(event)


def hold_if_slow(event) -> None:
    if event.changes.get("last_name", [None, None])[1] == SLOW:
        try:
            (Path(os.environ["DRILL_DIR"]) / f"slow-{event.pk}").touch(exist_ok=False)
        except FileExistsError:
            return
        logger.warning("%s %s", HOLDING, event.pk)
        # Hold the event's transaction open until the drill's SIGKILL (it waits for the log
        # line above, then kills at once). Nothing sets this event: the deadline only keeps a
        # broken drill from hanging a worker for ever.
        threading.Event().wait(timeout=120)
