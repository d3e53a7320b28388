import functools
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from users.models import CrmUser, Organization
from users.permissions import record_permission

from .fields import clean_value
from .models import Account, Contact, RecordEvent
from .modules import MODELS, RELATIONS, field_specs


def _json_value(value):
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _diff(before: dict, after: dict) -> dict:
    return {
        name: [_json_value(before.get(name)), _json_value(value)]
        for name, value in after.items()
        if before.get(name) != value
    }


def _created(values: dict) -> dict:
    """A create event's changes: every field given a value, as [None, value]."""
    return {
        name: [None, _json_value(value)]
        for name, value in values.items()
        if value not in (None, "", [])
    }


# The outbox INSERT is on every save path, so it skips the ORM's per-save machinery (a third
# of the save path's cost in benchmarks/record_events.py): one statement, columns named from
# the model, values adapted by the connection's own operations as the ORM would.
_EVENT_COLUMNS = (
    "org",
    "module",
    "record_id",
    "kind",
    "source",
    "changes",
    "actor",
    "created_at",
    "attempts",
)


@functools.cache
def _event_insert_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(RecordEvent._meta.get_field(f).column) for f in _EVENT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(_EVENT_COLUMNS))
    table = quote(RecordEvent._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING {quote('id')}"


def _record_event_insert(*, record, kind, changes, actor, source) -> tuple[int, datetime]:
    """The outbox row, in the caller's transaction: its id and time. Nothing is published
    from here: the outbox relay (records.relay) hands committed events to the workers (AUT-8)."""
    created_at = timezone.now()
    ops = connection.ops
    params = (
        record.org_id,
        record.MODULE,
        record.pk,
        kind,
        source,
        ops.adapt_json_value(changes, None),
        actor.pk if actor is not None else None,
        ops.adapt_datetimefield_value(created_at),
        0,
    )
    with connection.cursor() as cursor:
        cursor.execute(_event_insert_sql(connection.vendor), params)
        (event_id,) = cursor.fetchone()
    return event_id, created_at


def _record_event_write(*, record, kind, changes, actor, source) -> RecordEvent:
    """The outbox row (see _record_event_insert), as a RecordEvent."""
    event_id, created_at = _record_event_insert(
        record=record, kind=kind, changes=changes, actor=actor, source=source
    )
    event = RecordEvent(
        pk=event_id,
        org=record.org,
        module=record.MODULE,
        record_id=record.pk,
        kind=kind,
        source=source,
        changes=changes,
        actor=actor,
        created_at=created_at,
    )
    event._state.adding = False
    return event


def _relation(org, module: str, name: str, value):
    """An owner (CRM user) or account of this org, given by instance or id; None clears.
    An instance of this org is taken as it is (a form or the caller loaded it already);
    an id, or another org's instance, is looked up in this org."""
    if value in (None, ""):
        return None
    model = CrmUser if name == "owner" else Account
    if isinstance(value, model) and value.pk is not None and value.org_id == org.pk:
        return value
    pk = value.pk if isinstance(value, model) else value
    found = model.objects.filter(org=org, pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        label = _("owner") if name == "owner" else pgettext("crm record", "account")
        raise ValidationError(
            {name: [_("Choose a valid %(field)s of this organisation.") % {"field": label}]}
        )
    return found


def _apply(record, data: dict, *, creating: bool) -> None:
    """Validate `data` field by field (records.fields) and set it on the record. All the
    problems are reported together, by field name; nothing is set when there is one."""
    module = record.MODULE
    specs = {spec.key: spec for spec in field_specs(record.org, module)}
    errors, values = {}, {}
    for key, spec in specs.items():
        if key in data or (creating and spec.required):
            try:
                values[key] = clean_value(spec, data.get(key))
            except ValidationError as error:
                errors[key] = error.messages
    relations = {}
    for name in RELATIONS[module]:
        if name in data:
            try:
                relations[name] = _relation(record.org, module, name, data[name])
            except ValidationError as error:
                errors.update(error.message_dict)
    unknown = set(data) - set(specs) - set(RELATIONS[module])
    for key in sorted(unknown):
        errors[key] = [_("There is no field %(field)s.") % {"field": key}]
    if errors:
        raise ValidationError(errors)
    custom = dict(record.custom or {})
    for key, value in values.items():
        if specs[key].custom:
            custom[key] = value
        else:
            setattr(record, key, empty_default(record, key) if value is None else value)
    record.custom = custom
    for name, value in relations.items():
        setattr(record, name, value)


def empty_default(record, key: str):
    """A cleared standard field: its default when it must have a value (subscription), else
    empty text. The contact import asks it too, to tell whether a cleared cell changes
    anything."""
    model_field = record._meta.get_field(key)
    return model_field.get_default() if not model_field.blank else ""


def _require_record_permission(actor: CrmUser | None, module: str, action: str) -> None:
    """USR-1: the actor's profile must allow this action on this module."""
    if actor is not None and not actor.can(record_permission(module, action)):
        raise PermissionDenied


@transaction.atomic
def record_create(
    *,
    org: Organization,
    actor: CrmUser | None,
    module: str,
    data: dict,
    source: str = RecordEvent.Source.UI,
    default_owner: CrmUser | None = None,
):
    """Create a contact or account and its create event in one transaction (REC-3).
    Bad values raise ValidationError({field: [messages]}) and write nothing. `actor` None is
    the system itself (an import, the demo seed).

    REC-5: a record given no owner belongs to the member who creates it (`actor`), or to
    `default_owner` when the system creates it for someone (the API token's creator); so a
    creator always sees what they created (USR-2)."""
    _require_record_permission(actor, module, "create")
    owner = actor or default_owner
    if owner is not None and data.get("owner") in (None, ""):
        data = {**data, "owner": owner}
    record = MODELS[module](org=org)
    _apply(record, data, creating=True)
    record.full_clean(exclude=["org", "owner", "account"])
    record.save()
    # No RecordEvent instance: nobody here reads it, and building one took ~7 % of the CPU.
    _record_event_insert(
        record=record,
        kind=RecordEvent.Kind.CREATE,
        changes=_created(record.tracked_values()),
        actor=actor,
        source=source,
    )
    return record


@transaction.atomic
def record_update(
    *, record, actor: CrmUser | None, data: dict, source: str = RecordEvent.Source.UI
) -> RecordEvent | None:
    """Apply `data` to the record; write an update event naming what changed (REC-3).
    An update that changes nothing writes nothing and returns None."""
    _require_record_permission(actor, record.MODULE, "edit")
    record = type(record).objects.select_for_update().get(pk=record.pk)
    before = record.tracked_values()
    _apply(record, data, creating=False)
    after = record.tracked_values()
    changes = _diff({**dict.fromkeys(after), **before}, after)
    if not changes:
        return None
    record.full_clean(exclude=["org", "owner", "account"])
    record.save()
    return _record_event_write(
        record=record, kind=RecordEvent.Kind.UPDATE, changes=changes, actor=actor, source=source
    )


@transaction.atomic
def records_bulk_update(
    *,
    org: Organization,
    actor: CrmUser | None,
    module: str,
    records,
    data: dict,
    source: str = RecordEvent.Source.UI,
) -> int:
    """The same change to many records: one event per record that changed (REC-3)."""
    changed = 0
    for record in records:
        if record.org_id != org.pk:
            raise PermissionDenied
        changed += record_update(record=record, actor=actor, data=data, source=source) is not None
    return changed


@transaction.atomic
def record_delete(*, record, actor: CrmUser | None) -> None:
    _require_record_permission(actor, record.MODULE, "delete")
    RecordEvent.objects.filter(
        org=record.org, module=record.MODULE, record_id=record.pk, processed_at__isnull=True
    ).update(processed_at=timezone.now())
    record.delete()


def contact_create(
    *, org, actor, data: dict, source: str = RecordEvent.Source.UI, default_owner=None
) -> Contact:
    return record_create(
        org=org,
        actor=actor,
        module="contacts",
        data=data,
        source=source,
        default_owner=default_owner,
    )


def contact_update(*, contact, actor, data: dict, source: str = RecordEvent.Source.UI):
    return record_update(record=contact, actor=actor, data=data, source=source)
