"""Custom fields and the field layout of the record forms (REC-1). Only admins change them;
every write validates first, runs in one transaction and writes the audit entry (USR-9).

A custom field's values live in the records' `custom` JSON under its key, so the key and the
type never change once the field exists: the stored values were validated against them."""

import re

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Cast
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm_portal.exceptions import ActionRefused
from users.audit import audit_log_write
from users.models import CrmUser, Organization

from .fields import FIELD_TYPES, MULTISELECT, TYPES_WITH_CHOICES, FieldSpec
from .models import CustomField, FieldLayout
from .modules import MODELS, RELATIONS, field_registry_changed, field_specs, standard_specs

MAX_LABEL = 80
MAX_CHOICES = 100
MAX_CHOICE = 100
MAX_KEY = 60
# Names a record already answers to besides its fields: a custom key must not shadow them.
RECORD_NAMES = {"id", "pk", "org", "custom", "created_at", "updated_at"}
_NUMBERED_KEY = re.compile(r"^field-(\d+)$")


# --- checks ----------------------------------------------------------------------------------


def _require_admin(org: Organization, actor: CrmUser | None) -> None:
    if (
        actor is None
        or actor.org_id != org.pk
        or actor.status != CrmUser.Status.ACTIVE
        or not actor.is_admin
    ):
        raise PermissionDenied


def _require_module(module: str) -> None:
    if module not in MODELS:
        raise ActionRefused(_("There is no module %(module)s.") % {"module": module})


def _module_name(module: str) -> str:
    return str(dict(CustomField.MODULES)[module])


def _clean_label(org, module: str, label: str, *, exclude_pk: int | None = None) -> str:
    label = " ".join((label or "").split())
    if not label:
        raise ActionRefused(_("Give the field a label."), field="label")
    if len(label) > MAX_LABEL:
        raise ActionRefused(
            _("The label is longer than %(limit)s characters.") % {"limit": MAX_LABEL},
            field="label",
        )
    wanted = label.casefold()
    standard = [str(spec.label) for spec in standard_specs(module)]
    custom = CustomField.objects.filter(org=org, module=module).exclude(pk=exclude_pk)
    taken = [*standard, *custom.values_list("label", flat=True)]
    if any(wanted == other.casefold() for other in taken):
        raise ActionRefused(
            _("%(module)s already have a field labelled “%(label)s”. Choose another label.")
            % {"module": _module_name(module), "label": label},
            field="label",
        )
    return label


def _clean_choices(field_type: str, choices) -> list[str]:
    cleaned = [" ".join(str(c).split()) for c in (choices or [])]
    cleaned = [c for c in cleaned if c]
    if field_type not in TYPES_WITH_CHOICES:
        if cleaned:
            raise ActionRefused(
                _("Only picklist and multi-select fields have choices; leave the choices empty."),
                field="choices",
            )
        return []
    if not cleaned:
        raise ActionRefused(_("Give at least one choice, one per line."), field="choices")
    if len(cleaned) > MAX_CHOICES:
        raise ActionRefused(
            _("At most %(limit)s choices, not %(count)s.")
            % {"limit": MAX_CHOICES, "count": len(cleaned)},
            field="choices",
        )
    seen = set()
    for choice in cleaned:
        if choice.casefold() in seen:
            raise ActionRefused(
                _("“%(choice)s” is listed twice. Each choice once.") % {"choice": choice},
                field="choices",
            )
        seen.add(choice.casefold())
        if len(choice) > MAX_CHOICE:
            raise ActionRefused(
                _("“%(choice)s…” is longer than %(limit)s characters.")
                % {"choice": choice[:20], "limit": MAX_CHOICE},
                field="choices",
            )
        if field_type == MULTISELECT and ";" in choice:
            # Imports and the API separate several values with ";".
            raise ActionRefused(
                _("“%(choice)s”: a multi-select choice cannot contain “;”.") % {"choice": choice},
                field="choices",
            )
    return cleaned


def _reserved_keys(module: str) -> set[str]:
    relations = RELATIONS[module]
    return (
        {spec.key for spec in standard_specs(module)}
        | set(relations)
        | {f"{name}_id" for name in relations}
        | RECORD_NAMES
    )


def _derive_key(org, module: str, label: str) -> str:
    """The key of a new field: its label as ASCII (“Customer rank” → customer-rank), or
    field-N when nothing ASCII is left of it (a Japanese label)."""
    taken = list(CustomField.objects.filter(org=org, module=module).values_list("key", flat=True))
    key = re.sub(r"[-_]+", "-", slugify(label))[:MAX_KEY].strip("-")
    if key and key[0].isdigit():  # a number would be read as an array index in JSON lookups
        key = f"field-{key}"[:MAX_KEY].strip("-")
    if not key:
        numbers = [int(m[1]) for m in map(_NUMBERED_KEY.match, taken) if m]
        return f"field-{max(numbers, default=0) + 1}"
    if key.replace("-", "_") in _reserved_keys(module):
        raise ActionRefused(
            _("“%(label)s” is a standard field of %(module)s. Choose another label.")
            % {"label": label, "module": _module_name(module)},
            field="label",
        )
    if key in taken:
        raise ActionRefused(
            _(
                "Another field of %(module)s has the key “%(key)s”, which this label would get. "
                "Choose another label."
            )
            % {"module": _module_name(module), "key": key},
            field="label",
        )
    return key


# --- reads -----------------------------------------------------------------------------------


def _records(org_id: int, module: str):
    return MODELS[module].objects.filter(org_id=org_id)


def _not_empty(key: str) -> Q:
    empty = Q()
    for value in (None, "", [], False):  # what clean_value stores for an empty input
        empty |= Q(**{f"custom__{key}": value})
    return Q(custom__has_key=key) & ~empty


def records_with_value_count(field: CustomField) -> int:
    """How many records hold a non-empty value of the field (the delete confirmation)."""
    return _records(field.org_id, field.module).filter(_not_empty(field.key)).count()


def _choice_use(field: CustomField, choice: str) -> int:
    lookup = (
        {f"custom__{field.key}__contains": [choice]}
        if field.field_type == MULTISELECT
        else {f"custom__{field.key}": choice}
    )
    return _records(field.org_id, field.module).filter(**lookup).count()


def ordered_specs(org, module: str) -> list[FieldSpec]:
    """field_specs() in the admin's saved layout; fields the layout does not name yet come
    last, in their default order. The record forms list fields this way."""
    layout = FieldLayout.objects.filter(org=org, module=module).first()
    specs = field_specs(org, module)
    if layout is None:
        return specs
    rank = {key: index for index, key in enumerate(layout.order)}
    return sorted(specs, key=lambda spec: rank.get(spec.key, len(rank)))


# --- writes ----------------------------------------------------------------------------------


def _lock_org(org: Organization) -> None:
    """Serialise the field writes of one org: keys and positions are chosen from what exists."""
    Organization.objects.select_for_update().filter(pk=org.pk).first()


def _state(field: CustomField) -> dict:
    return {
        "label": field.label,
        "choices": list(field.choices),
        "required": field.required,
        "position": field.position,
    }


@transaction.atomic
def custom_field_create(
    *,
    org: Organization,
    actor: CrmUser,
    module: str,
    label: str,
    field_type: str,
    choices=(),
    required: bool = False,
    ip: str | None = None,
) -> CustomField:
    """A new custom field at the end of the module's fields. Its key comes from the label."""
    _require_admin(org, actor)
    _require_module(module)
    _lock_org(org)
    if field_type not in dict(FIELD_TYPES):
        raise ActionRefused(_("Choose the type of the field."), field="field_type")
    label = _clean_label(org, module, label)
    choices = _clean_choices(field_type, choices)
    key = _derive_key(org, module, label)
    last = CustomField.objects.filter(org=org, module=module).aggregate(models.Max("position"))
    field = CustomField.objects.create(
        org=org,
        module=module,
        key=key,
        label=label,
        field_type=field_type,
        choices=choices,
        required=bool(required),
        position=(last["position__max"] or 0) + 1,
    )
    field_registry_changed(org)
    audit_log_write(
        org=org,
        actor=actor,
        action="customfield.created",
        ip=ip,
        details={"module": module, "key": key, "type": field_type, **_state(field)},
    )
    return field


def _refuse_removing_used_choices(field: CustomField, choices: list[str]) -> None:
    removed = [choice for choice in field.choices if choice not in choices]
    used = [(choice, _choice_use(field, choice)) for choice in removed]
    used = [(choice, count) for choice, count in used if count]
    if not used:
        return
    problems = " ".join(
        ngettext(
            "“%(choice)s” is the value of %(count)s record.",
            "“%(choice)s” is the value of %(count)s records.",
            count,
        )
        % {"choice": choice, "count": count}
        for choice, count in used
    )
    hint = _("Change those records first, or keep the choice.")
    raise ActionRefused(f"{problems} {hint}", field="choices")


@transaction.atomic
def custom_field_update(
    *,
    org: Organization,
    actor: CrmUser,
    field: CustomField,
    label: str,
    choices=(),
    required: bool = False,
    position: int | None = None,
    ip: str | None = None,
) -> CustomField:
    """Change a field's label, choices, required flag or position. Its key and type stay:
    records hold values of that type under that key. A choice that records still use stays."""
    _require_admin(org, actor)
    _lock_org(org)
    field = CustomField.objects.filter(org=org, pk=field.pk).first()
    if field is None:
        raise PermissionDenied
    label = _clean_label(org, field.module, label, exclude_pk=field.pk)
    choices = _clean_choices(field.field_type, choices)
    if field.field_type in TYPES_WITH_CHOICES:
        _refuse_removing_used_choices(field, choices)
    if position is not None and position < 0:
        raise ActionRefused(_("The position cannot be negative."), field="position")
    before = _state(field)
    field.label, field.choices, field.required = label, choices, bool(required)
    if position is not None:
        field.position = position
    after = _state(field)
    if after == before:
        return field
    field.save()
    field_registry_changed(org)
    audit_log_write(
        org=org,
        actor=actor,
        action="customfield.changed",
        ip=ip,
        details={"module": field.module, "key": field.key, "before": before, "after": after},
    )
    return field


class _JSONWithoutKey(Func):
    """`custom - 'key'`: the JSON object without that key (PostgreSQL jsonb)."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = models.JSONField()


@transaction.atomic
def custom_field_delete(
    *, org: Organization, actor: CrmUser, field: CustomField, ip: str | None = None
) -> int:
    """Delete the field and remove its values from every record in the same transaction.
    Returns how many records held a non-empty value."""
    _require_admin(org, actor)
    _lock_org(org)
    field = CustomField.objects.filter(org=org, pk=field.pk).first()
    if field is None:
        raise PermissionDenied
    holding = records_with_value_count(field)
    _records(org.pk, field.module).filter(custom__has_key=field.key).update(
        custom=_JSONWithoutKey(F("custom"), Cast(Value(field.key), models.TextField()))
    )
    audit_log_write(
        org=org,
        actor=actor,
        action="customfield.deleted",
        ip=ip,
        details={
            "module": field.module,
            "key": field.key,
            "label": field.label,
            "type": field.field_type,
            "records_with_value": holding,
        },
    )
    field.delete()
    field_registry_changed(org)
    return holding


@transaction.atomic
def field_layout_save(
    *,
    org: Organization,
    actor: CrmUser,
    module: str,
    order: list[str],
    ip: str | None = None,
) -> FieldLayout:
    """Store the order of all the module's fields, standard and custom, on the record forms.
    Unknown or repeated keys are refused; a field the order leaves out (one added meanwhile)
    goes last. Custom fields' positions follow, so every list of fields agrees."""
    _require_admin(org, actor)
    _require_module(module)
    _lock_org(org)
    known = [spec.key for spec in field_specs(org, module)]
    order = [str(key) for key in order]
    unknown = [key for key in order if key not in known]
    if unknown:
        raise ActionRefused(
            _("There is no field %(field)s. Reload the page and try again.") % {"field": unknown[0]}
        )
    if len(set(order)) != len(order):
        raise ActionRefused(_("A field is listed twice. Reload the page and try again."))
    order += [key for key in known if key not in order]
    layout = FieldLayout.objects.filter(org=org, module=module).first()
    before = layout.order if layout else known
    if layout is not None and order == before:
        return layout
    if layout is None:
        layout = FieldLayout(org=org, module=module)
    layout.order = order
    layout.save()
    custom = list(CustomField.objects.filter(org=org, module=module))
    rank = {key: index for index, key in enumerate(order)}
    for field in custom:
        field.position = rank[field.key]
    CustomField.objects.bulk_update(custom, ["position"])
    field_registry_changed(org)
    audit_log_write(
        org=org,
        actor=actor,
        action="fieldlayout.changed",
        ip=ip,
        details={"module": module, "before": before, "after": order},
    )
    return layout
