"""A consumer for tests/integration/test_autoinvite_worker.py: the first worker handed the
contact named SLOW stays inside the batch's transaction — after auto-invite wrote its portal
users, before the commit — until the test SIGKILLs it. A marker file in $HOLD_DIR, created
exclusively, says it happened: the next delivery goes through."""

import logging
import os
import threading
from pathlib import Path

logger = logging.getLogger(__name__)

SLOW = "Slowpoke"
HOLDING = "Auto-invite test: holding the batch"


def hold(events) -> None:
    if not any(e.changes.get("last_name", [None, None])[1] == SLOW for e in events):
        return
    try:
        (Path(os.environ["HOLD_DIR"]) / "held").touch(exist_ok=False)
    except (FileExistsError, KeyError):
        return
    logger.warning("%s of %s events", HOLDING, len(events))
    threading.Event().wait(timeout=120)  # the SIGKILL comes first; this only bounds a bug
