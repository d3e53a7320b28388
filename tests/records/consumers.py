"""Record-event consumers for tests, plugged in through RECORD_EVENT_CONSUMERS as auto-invite
will be: one remembers what it was handed, one always fails."""

SEEN: list[tuple[int, str, dict]] = []


def remember(event) -> None:
    SEEN.append((event.pk, event.kind, event.changes))


def fail(event) -> None:
    raise RuntimeError("this consumer always fails")
