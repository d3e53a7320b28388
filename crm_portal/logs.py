"""Logging helpers: what an operator reads on the console."""

import json
import logging
from datetime import UTC, datetime


class ClientErrorsOneLine(logging.Filter):
    """A request answered with a 4xx is logged as one line: the traceback of the Http404 or
    PermissionDenied behind it says nothing an operator needs (issue 17)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True


class JsonLines(logging.Formatter):
    """LOG_FORMAT=json: one JSON object a line, for a log collector — time (UTC, ISO 8601),
    level, logger, process, message, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)

    def formatTime(self, record, datefmt=None) -> str:  # noqa: N802 - logging's name
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
