"""Every field of every module as data (REC-1): standard fields here, custom fields from the
database. Conditions, the API, imports and portal field visibility list fields through
field_specs().

Each process keeps every org's field registry it has read, filed under the org's
`fields_version`: a save finds its fields without a query while the org row it holds carries
the same stamp. Every change of an org's custom fields renews the stamp
(field_registry_changed, which records.field_services calls; anything else that writes a
CustomField must call it too), so any process holding the org row as it is now reads them
afresh; a process holding an older org row keeps the fields of that row's time (a request
loads the org once, at its start; a task when it starts)."""

import uuid

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from users.models import Organization

from .fields import COUNTRY, EMAIL, PHONE, PICKLIST, TEXT, FieldSpec
from .models import Account, Contact, CustomField

MODELS = {"contacts": Contact, "accounts": Account}
# Relations are given by id (or an instance) and tracked as <name>_id.
RELATIONS = {"contacts": ("owner", "account"), "accounts": ("owner",)}


def _standard_contacts() -> list[FieldSpec]:
    subscription = tuple(value for value, _label in Contact.Subscription.choices)
    languages = tuple(code for code, _name in settings.LANGUAGES)
    return [
        FieldSpec("first_name", _("First name"), TEXT),
        FieldSpec("last_name", _("Last name"), TEXT, required=True),
        FieldSpec("email", _("Email"), EMAIL),
        FieldSpec("secondary_email", _("Secondary email"), EMAIL),
        FieldSpec("phone", _("Phone"), PHONE),
        FieldSpec("mobile", _("Mobile"), PHONE),
        FieldSpec("title", _("Title"), TEXT),
        FieldSpec("department", _("Department"), TEXT),
        FieldSpec("subscription", _("Subscription"), PICKLIST, choices=subscription),
        FieldSpec("language", _("Language"), PICKLIST, choices=languages),
        FieldSpec("street", _("Street"), TEXT),
        FieldSpec("city", _("City"), TEXT),
        FieldSpec("state", _("State"), TEXT),
        FieldSpec("postal_code", _("Postal code"), TEXT),
        FieldSpec("country", _("Country"), COUNTRY),
        FieldSpec("description", _("Description"), TEXT),
    ]


def _standard_accounts() -> list[FieldSpec]:
    return [
        FieldSpec("name", _("Account name"), TEXT, required=True),
        FieldSpec("website", _("Website"), TEXT),
        FieldSpec("phone", _("Phone"), PHONE),
        FieldSpec("industry", _("Industry"), TEXT),
        FieldSpec("street", _("Street"), TEXT),
        FieldSpec("city", _("City"), TEXT),
        FieldSpec("state", _("State"), TEXT),
        FieldSpec("postal_code", _("Postal code"), TEXT),
        FieldSpec("country", _("Country"), COUNTRY),
    ]


def standard_specs(module: str) -> list[FieldSpec]:
    return {"contacts": _standard_contacts, "accounts": _standard_accounts}[module]()


# (org id, module) -> (the org's fields_version, its specs); cleared when it grows this big
# (one entry is a few kB; a process serves far fewer orgs).
_registry: dict[tuple[int, str], tuple[uuid.UUID, tuple[FieldSpec, ...]]] = {}
REGISTRY_MAX_ENTRIES = 10_000


def field_specs(org, module: str) -> list[FieldSpec]:
    """Standard then custom fields of the module, in the admin's order."""
    cached = _registry.get((org.pk, module))
    if cached is not None and cached[0] == org.fields_version:
        return list(cached[1])
    return list(_read_specs(org, module))


def _read_specs(org, module: str) -> tuple[FieldSpec, ...]:
    # The stamp first, then the fields: whatever commits in between, the fields filed under
    # a stamp are at least as new as it. Inside a transaction that changed the fields, the
    # stamp read is that transaction's own, which no committed row will ever carry if it rolls
    # back.
    version = (
        Organization.objects.filter(pk=org.pk).values_list("fields_version", flat=True).first()
    )
    custom = CustomField.objects.filter(org=org, module=module).order_by("position", "pk")
    specs = (*standard_specs(module), *(field.spec() for field in custom))
    if len(_registry) >= REGISTRY_MAX_ENTRIES:
        _registry.clear()
    _registry[(org.pk, module)] = (version, specs)
    return specs


def field_registry_changed(org) -> None:
    """Call in the transaction that adds, changes, reorders or deletes a custom field of
    `org`: renews the org's stamp, so every process reads the fields again once it commits."""
    version = uuid.uuid4()
    Organization.objects.filter(pk=org.pk).update(fields_version=version)
    forget_field_registry(org.pk)
    # This process may meanwhile have filed the committed fields under the old stamp; the
    # caller's org row then carries the new one.
    transaction.on_commit(lambda: _committed(org, version))


def _committed(org, version: uuid.UUID) -> None:
    forget_field_registry(org.pk)
    org.fields_version = version


def forget_field_registry(org_id: int | None = None) -> None:
    """Drop this process's registry of one org (or all): the next read goes to the database."""
    for key in list(_registry):  # a copy: other threads may file entries meanwhile
        if org_id is None or key[0] == org_id:
            _registry.pop(key, None)
