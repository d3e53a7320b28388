"""Record-event consumers for tests, plugged in through RECORD_EVENT_CONSUMERS as auto-invite
will be: one remembers what it was handed, one always fails."""

from django.db import OperationalError

SEEN: list[tuple[int, str, dict]] = []


def remember(events) -> None:
    SEEN.extend((event.pk, event.kind, event.changes) for event in events)


def fail(events) -> None:
    raise RuntimeError("this consumer always fails")


POISON = "Poison"


def fail_on_poison(events) -> None:
    """Fails any batch holding the contact named POISON."""
    if any(event.changes.get("last_name", [None, None])[1] == POISON for event in events):
        raise RuntimeError("this batch holds the poison event")


class DatabaseHiccup:
    """Fails the first `times` calls with a database error, as a cut session does, then
    works: what a worker should retry rather than drop."""

    times = 0

    @classmethod
    def __call__(cls, events) -> None:
        if cls.times > 0:
            cls.times -= 1
            raise OperationalError("server closed the connection unexpectedly")


database_hiccup = DatabaseHiccup()
