"""Record-event consumers for tests, plugged in through RECORD_EVENT_CONSUMERS as auto-invite
will be: one remembers what it was handed, one always fails."""

from django.db import OperationalError

SEEN: list[tuple[int, str, dict]] = []


def remember(event) -> None:
    SEEN.append((event.pk, event.kind, event.changes))


def fail(event) -> None:
    raise RuntimeError("this consumer always fails")


class DatabaseHiccup:
    """Fails the first `times` calls with a database error, as a cut session does, then
    works: what a worker should retry rather than drop."""

    times = 0

    @classmethod
    def __call__(cls, event) -> None:
        if cls.times > 0:
            cls.times -= 1
            raise OperationalError("server closed the connection unexpectedly")


database_hiccup = DatabaseHiccup()
