from dataclasses import dataclass

from users.models import CrmUser

from .models import Contact, RecordEvent


@dataclass
class Change:
    label: str
    old: object
    new: object


def _labels() -> dict:
    labels = {f.name: f.verbose_name for f in Contact._meta.fields}
    labels["owner_id"] = labels["owner"]
    return labels


def contact_history(*, contact: Contact, limit: int = 20) -> list[tuple[RecordEvent, list[Change]]]:
    """The contact's events, newest first, with field labels and owners by name."""
    events = list(
        RecordEvent.objects.filter(module="contacts", record_id=contact.pk)
        .select_related("actor")
        .order_by("-created_at", "-pk")[:limit]
    )
    owner_ids = {v for e in events for v in e.changes.get("owner_id", []) if v is not None}
    owners = {m.pk: str(m) for m in CrmUser.objects.filter(pk__in=owner_ids)}
    labels = _labels()

    def shown(field, value):
        return owners.get(value, value) if field == "owner_id" else value

    return [
        (
            event,
            [
                Change(labels.get(field, field), shown(field, old), shown(field, new))
                for field, (old, new) in event.changes.items()
            ],
        )
        for event in events
    ]


def contacts_visible_to(*, membership: CrmUser):
    """The contacts this member may see (USR-2)."""
    from users.selectors import visible_owner_filter

    contacts = Contact.objects.filter(org_id=membership.org_id)
    condition = visible_owner_filter(membership=membership)
    return contacts if condition is None else contacts.filter(condition)
