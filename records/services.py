import logging
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from users.models import CrmUser, Organization
from users.permissions import record_permission

from .models import Contact, RecordEvent

logger = logging.getLogger(__name__)

CONTACT_FIELDS = ("first_name", "last_name", "email", "language", "country", "owner")


def _json_value(value):
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _diff(before: dict, after: dict) -> dict:
    return {
        name: [_json_value(before.get(name)), _json_value(value)]
        for name, value in after.items()
        if before.get(name) != value
    }


def _require_record_permission(actor: CrmUser | None, action: str) -> None:
    """USR-1: the actor's profile must allow this action on contacts."""
    if actor is not None and not actor.can(record_permission("contacts", action)):
        raise PermissionDenied


def record_event_enqueue(event: RecordEvent) -> None:
    """After commit, ask a worker to process the event. A lost enqueue is not an error:
    the sweeper finds every event still pending (AUT-8)."""
    org_id, event_id = event.org_id, event.pk

    def send():
        from .tasks import process_record_event_task

        try:
            process_record_event_task.apply_async((org_id, event_id), retry=False)
        except Exception:  # the broker is down; the sweeper will pick the event up
            logger.warning("Could not enqueue record event %s; left for the sweeper", event_id)

    transaction.on_commit(send)


def _record_event_write(*, contact, kind, changes, actor, source) -> RecordEvent:
    event = RecordEvent.objects.create(
        org=contact.org,
        module="contacts",
        record_id=contact.pk,
        kind=kind,
        source=source,
        changes=changes,
        actor=actor,
    )
    record_event_enqueue(event)
    return event


@transaction.atomic
def contact_create(
    *, org: Organization, actor: CrmUser | None, data: dict, source: str = RecordEvent.Source.UI
) -> Contact:
    """Create a contact and its create event in one transaction (REC-3). `actor` None is the
    system itself (an import, the demo seed)."""
    _require_record_permission(actor, "create")
    contact = Contact(org=org, **{k: v for k, v in data.items() if k in CONTACT_FIELDS})
    contact.full_clean()
    contact.save()
    empty = dict.fromkeys(Contact.TRACKED_FIELDS)
    changes = _diff(empty, contact.tracked_values())
    _record_event_write(
        contact=contact, kind=RecordEvent.Kind.CREATE, changes=changes, actor=actor, source=source
    )
    return contact


@transaction.atomic
def contact_update(
    *, contact: Contact, actor: CrmUser | None, data: dict, source: str = RecordEvent.Source.UI
) -> RecordEvent | None:
    """Apply `data` to the contact; write an update event naming what changed (REC-3).

    An update that changes nothing writes nothing and returns None.
    """
    _require_record_permission(actor, "edit")
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    before = contact.tracked_values()
    for name, value in data.items():
        if name in CONTACT_FIELDS:
            setattr(contact, name, value)
    changes = _diff(before, contact.tracked_values())
    if not changes:
        return None
    contact.full_clean()
    contact.save()
    return _record_event_write(
        contact=contact, kind=RecordEvent.Kind.UPDATE, changes=changes, actor=actor, source=source
    )


def record_event_process(*, event_id: int) -> bool:
    """Claim a pending event and process it; False when it is done already or claimed by
    another worker. Claiming, processing and marking done are one transaction, so a worker
    that dies half-way leaves the event pending for the next attempt."""
    with transaction.atomic():
        event = (
            RecordEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, processed_at__isnull=True)
            .first()
        )
        if event is None:
            return False
        event.attempts += 1
        # Auto-invite evaluation (AUT-5) plugs in here, inside this transaction.
        event.processed_at = timezone.now()
        event.save(update_fields=["attempts", "processed_at"])
    return True


def record_events_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Re-enqueue events still pending after OUTBOX_STALE_AFTER; returns how many."""
    cutoff = (now or timezone.now()) - settings.OUTBOX_STALE_AFTER
    from .tasks import process_record_event_task

    with scopes_disabled():
        pending = list(
            RecordEvent.objects.filter(processed_at__isnull=True, created_at__lte=cutoff)
            .order_by("created_at")
            .values_list("org_id", "pk")[:limit]
        )
    for org_id, event_id in pending:
        process_record_event_task.delay(org_id, event_id)
    return len(pending)
