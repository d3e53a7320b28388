from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext

from crm_portal.countries import country_name
from crm_portal.search import ACCOUNT_SEARCH_FIELDS, CONTACT_SEARCH_FIELDS, contains_any
from users.models import CrmUser
from users.selectors import visible_owner_filter

from .models import Account, Contact, ContactImport, RecordEvent
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


def _choice_labels() -> dict:
    """Standard fields stored as a code, shown by their label in the viewer's language."""
    return {
        "language": dict(settings.LANGUAGES),
        "subscription": dict(Contact.Subscription.choices),
    }


def history_value(field: str, value, named: dict) -> str:
    """A value of the history as the member typed or chose it (issue 11): an owner or an
    account by name, a language or a subscription by its label, a country by its name, a
    flag as yes or no."""
    if value is None or value == "" or value == []:
        return ""
    if field in named:
        return str(named[field].get(value, value))
    if field == "country" and isinstance(value, str):
        return country_name(value)
    labels = _choice_labels().get(field)
    if labels is not None:
        return str(labels.get(value, value))
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def record_history(*, record, limit: int = 20) -> list[tuple[RecordEvent, list[Change]]]:
    """The record's events, newest first, with field labels and values as typed. An event
    still being processed after RECORD_HISTORY_SLOW_SECONDS is marked `is_slow`; before
    that, nothing is said of it."""
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
    slow_before = timezone.now() - timedelta(seconds=settings.RECORD_HISTORY_SLOW_SECONDS)
    for event in events:
        event.is_slow = event.processed_at is None and event.created_at < slow_before
    return [
        (
            event,
            [
                Change(
                    labels.get(field, field),
                    history_value(field, old, named),
                    history_value(field, new, named),
                )
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


def dashboard_records(*, membership: CrmUser, limit: int = 5) -> dict:
    """A member's part of the dashboard (USR-2 applies): the contacts they own and how many
    they may see, and the records they may see that changed last. Four queries."""
    visible = contacts_visible_to(membership=membership)
    counts = visible.aggregate(
        visible=Count("pk"), mine=Count("pk", filter=Q(owner_id=membership.pk))
    )
    mine = visible.filter(owner_id=membership.pk).order_by("-created_at", "-pk")[:limit]
    contacts = visible.select_related("owner").order_by("-updated_at", "-pk")[:limit]
    accounts = accounts_visible_to(membership=membership).select_related("owner")
    changed = sorted(
        [*contacts, *accounts.order_by("-updated_at", "-pk")[:limit]],
        key=lambda record: record.updated_at,
        reverse=True,
    )[:limit]
    return {
        "visible_contacts": counts["visible"],
        "my_contact_count": counts["mine"],
        "my_contacts": list(mine),
        "recently_changed": changed,
    }


def recent_contact_imports(*, org, limit: int = 3) -> list[ContactImport]:
    return list(
        ContactImport.objects.filter(org=org)
        .select_related("created_by")
        .order_by("-created_at")[:limit]
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
