from dataclasses import dataclass

from crm_portal.search import ACCOUNT_SEARCH_FIELDS, CONTACT_SEARCH_FIELDS, contains_any
from users.models import CrmUser
from users.selectors import visible_owner_filter

from .models import Account, Contact, RecordEvent
from .modules import field_specs


@dataclass
class Change:
    label: str
    old: object
    new: object


def _labels(record) -> dict:
    labels = {spec.key: spec.label for spec in field_specs(record.org, record.MODULE)}
    labels.update(
        {
            "owner_id": Contact._meta.get_field("owner").verbose_name,
            "account_id": Contact._meta.get_field("account").verbose_name,
        }
    )
    return labels


def record_history(*, record, limit: int = 20) -> list[tuple[RecordEvent, list[Change]]]:
    """The record's events, newest first, with field labels, owners and accounts by name."""
    events = list(
        RecordEvent.objects.filter(org_id=record.org_id, module=record.MODULE, record_id=record.pk)
        .select_related("actor")
        .order_by("-created_at", "-pk")[:limit]
    )
    named = {
        "owner_id": _names(CrmUser, events, "owner_id"),
        "account_id": _names(Account, events, "account_id"),
    }
    labels = _labels(record)

    def shown(field, value):
        return named[field].get(value, value) if field in named else value

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


def _names(model, events, field) -> dict:
    ids = {v for e in events for v in e.changes.get(field, []) if v is not None}
    return {obj.pk: str(obj) for obj in model.objects.filter(pk__in=ids)} if ids else {}


def _visible(queryset, membership: CrmUser):
    condition = visible_owner_filter(membership=membership)
    queryset = queryset.filter(org_id=membership.org_id)
    return queryset if condition is None else queryset.filter(condition)


def contacts_visible_to(*, membership: CrmUser):
    """The contacts this member may see (USR-2)."""
    return _visible(Contact.objects.all(), membership)


def accounts_visible_to(*, membership: CrmUser):
    """The accounts this member may see (USR-2)."""
    return _visible(Account.objects.all(), membership)


def records_visible_to(*, membership: CrmUser, module: str):
    return {"contacts": contacts_visible_to, "accounts": accounts_visible_to}[module](
        membership=membership
    )


SEARCH_FIELDS = {"contacts": CONTACT_SEARCH_FIELDS, "accounts": ACCOUNT_SEARCH_FIELDS}


def search_records(queryset, *, module: str, query: str):
    """The records of `queryset` whose searched fields contain `query`, ignoring case (REC-2).
    On PostgreSQL the trigram indexes of records/0011_search_trigram serve it (issue 21)."""
    if not query:
        return queryset
    return queryset.filter(contains_any(SEARCH_FIELDS[module], query))


def export_records(*, org) -> dict:
    """The records part of an organisation's final export (ORG-4)."""
    return {
        "contacts": list(
            Contact.objects.filter(org=org).values(
                "first_name",
                "last_name",
                "email",
                "language",
                "country",
                "owner__email",
                "created_at",
                "updated_at",
            )
        )
    }
