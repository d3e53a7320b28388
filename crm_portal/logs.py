"""Logging helpers: what an operator reads on the console."""

import logging


class ClientErrorsOneLine(logging.Filter):
    """A request answered with a 4xx is logged as one line: the traceback of the Http404 or
    PermissionDenied behind it says nothing an operator needs (issue 17)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
