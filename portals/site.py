"""The portal site's selectors and services (POR-2, POR-7): what a portal user reaches.

A portal user sees the modules their user group shares (UserGroup.modules, in the shape its
docstring gives), and in each module exactly the records of the group's scope:
- "own": their contact (accounts: their contact's account);
- "related": their contact and the contacts of the same account (accounts: their contact's
  account);
- "account": the records of their contact's account (contacts of it; the account itself).
Only the group's shown fields that the field registry still knows are shown, only its
editable fields are written, through the CRM's own record services (the same validation) with
events whose source is "portal". Everything here is enforced, never only hidden in templates.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from crm_portal.names import family_name_field_first, person_name
from records import notes as record_notes_api
from records.fields import EMAIL, PHONE, TEXT, FieldSpec
from records.models import Account, Attachment, Note, RecordEvent
from records.modules import MODELS, field_specs
from records.services import record_create, record_update

from .models import Portal, PortalUser

# The source of the record events the portal writes (REC-3, AUT-8): auto-invite and the
# record's history tell a portal user's change by it.
PORTAL_SOURCE = RecordEvent.Source.PORTAL
PAGE_SIZE = 25
MAX_SEARCH = 100
SEARCHABLE_TYPES = {TEXT, EMAIL, PHONE}
DEFAULT_ORDER = {"contacts": ["last_name", "first_name", "pk"], "accounts": ["name", "pk"]}


@dataclass(frozen=True)
class SharedModule:
    """One module a portal user's group shares, with what they may do in it."""

    key: str
    scope: str
    shown: list[FieldSpec]
    editable: list[FieldSpec]
    can_create: bool
    can_edit: bool
    can_note: bool = False
    can_attach: bool = False


def module_label(key: str) -> str:
    return {"contacts": _("Contacts"), "accounts": _("Accounts")}.get(key, key)


def shared_module(portal_user: PortalUser, key: str) -> SharedModule | None:
    """The module as the user's group shares it, or None when it is not shared (no "view",
    an unknown module, an unknown scope)."""
    if key not in MODELS:
        return None
    config = portal_user.group.module(key)
    actions = config.get("actions") or []
    scope = config.get("records")
    if "view" not in actions or scope not in ("own", "related", "account"):
        return None
    specs = {spec.key: spec for spec in field_specs(portal_user.org, key)}
    shown_keys = [k for k in config.get("fields_shown") or [] if k in specs]
    shown_keys = family_name_field_first(shown_keys)  # 姓 before 名 in Japanese
    shown = [specs[k] for k in shown_keys]
    # A field is editable only when it is shown too: nobody edits what they cannot see.
    editable = [specs[k] for k in config.get("fields_editable") or [] if k in shown_keys]
    return SharedModule(
        key=key,
        scope=scope,
        shown=shown,
        editable=editable,
        can_create="create" in actions and bool(editable),
        can_edit="edit" in actions and bool(editable),
        can_note="notes" in actions,
        can_attach="attachments" in actions,
    )


def shared_modules(portal_user: PortalUser) -> list[SharedModule]:
    """Every module the group shares, in the registry's order (contacts, accounts, …)."""
    found = (shared_module(portal_user, key) for key in MODELS)
    return [module for module in found if module is not None]


def reachable_records(portal_user: PortalUser, module: SharedModule) -> QuerySet:
    """Exactly the records of the module the portal user reaches (POR-2)."""
    contact = portal_user.contact
    model = MODELS[module.key]
    records = model.objects.filter(org_id=portal_user.org_id)
    if model is Account:
        return records.filter(pk=contact.account_id) if contact.account_id else records.none()
    if module.scope == "own":
        return records.filter(pk=contact.pk)
    if module.scope == "related":
        if contact.account_id:
            return records.filter(Q(pk=contact.pk) | Q(account_id=contact.account_id))
        return records.filter(pk=contact.pk)
    # "account": the contacts of the contact's account.
    return records.filter(account_id=contact.account_id) if contact.account_id else records.none()


def sortable_keys(module: SharedModule) -> list[str]:
    return [spec.key for spec in module.shown if not spec.custom]


def record_list(portal_user: PortalUser, module: SharedModule, *, search: str, sort: str):
    """The module's reachable records, searched over the shown standard text fields and
    sorted by a shown standard field (anything else: the default order)."""
    records = reachable_records(portal_user, module)
    search = search.strip()[:MAX_SEARCH]
    if search:
        condition = Q()
        for spec in module.shown:
            if not spec.custom and spec.type in SEARCHABLE_TYPES:
                condition |= Q(**{f"{spec.key}__icontains": search})
        records = records.filter(condition) if condition else records.none()
    key = sort.removeprefix("-")
    if key and key in sortable_keys(module):
        order = [sort if sort.startswith("-") else key, "pk"]
    else:
        order = DEFAULT_ORDER[module.key]
    return records.order_by(*order)


def record_detail(portal_user: PortalUser, module: SharedModule, pk: int):
    """One reachable record, or None (the view answers 404: no existence oracle)."""
    return reachable_records(portal_user, module).filter(pk=pk).first()


def shown_values(record, module: SharedModule) -> list[tuple[FieldSpec, object]]:
    """(field, value) for every shown field of a record, in the group's order."""
    custom = record.custom or {}
    return [
        (spec, custom.get(spec.key) if spec.custom else getattr(record, spec.key))
        for spec in module.shown
    ]


def record_title(record, module: SharedModule) -> str:
    """What a record's page calls it, from the shown fields only (a hidden name stays
    hidden): a contact's shown names, an account's name, else the first shown value."""
    values = {spec.key: value for spec, value in shown_values(record, module)}
    if module.key == "contacts" and ("first_name" in values or "last_name" in values):
        name = person_name(values.get("first_name") or "", values.get("last_name") or "")
    else:
        name = next((str(value) for value in values.values() if value not in (None, "")), "")
    return name or _("Record %(number)s") % {"number": record.pk}


def _only_editable(module: SharedModule, data: dict) -> dict:
    allowed = {spec.key for spec in module.editable}
    refused = sorted(set(data) - allowed)
    if refused:
        raise ValidationError(
            {key: [_("This field cannot be changed in the portal.")] for key in refused}
        )
    return data


def portal_record_create(portal_user: PortalUser, module: SharedModule, data: dict):
    """POR-7: a new record from the portal, with the CRM's validation and a "portal" event.
    A new contact joins the portal user's account, so it is theirs to see."""
    if not module.can_create:
        raise PermissionDenied
    data = dict(_only_editable(module, data))
    if module.key == "contacts" and portal_user.contact.account_id:
        data["account"] = portal_user.contact.account_id
    return record_create(
        org=portal_user.org, actor=None, module=module.key, data=data, source=PORTAL_SOURCE
    )


def portal_record_update(portal_user: PortalUser, module: SharedModule, record, data: dict):
    """POR-7: the editable fields of a reachable record; None when nothing changed."""
    if not module.can_edit or record_detail(portal_user, module, record.pk) is None:
        raise PermissionDenied
    return record_update(
        record=record, actor=None, data=_only_editable(module, data), source=PORTAL_SOURCE
    )


def portal_author_name(portal_user: PortalUser) -> str:
    """How the CRM names a portal user's note or file: their contact's name."""
    contact = portal_user.contact
    return person_name(contact.first_name, contact.last_name) or portal_user.email


def record_notes(portal_user: PortalUser, module: SharedModule, record) -> list[Note]:
    """POR-7: the notes of a reachable record (the group's "view" is enough to read them)."""
    if record_detail(portal_user, module, record.pk) is None:
        return []
    return list(
        record_notes_api.record_notes(org=portal_user.org, module=module.key, record_id=record.pk)
    )


def record_attachments(portal_user: PortalUser, module: SharedModule, record) -> list[Attachment]:
    """POR-7: the attachments of a reachable record."""
    if record_detail(portal_user, module, record.pk) is None:
        return []
    return list(
        record_notes_api.record_attachments(
            org=portal_user.org, module=module.key, record_id=record.pk
        )
    )


def record_attachment(
    portal_user: PortalUser, module: SharedModule, record_pk: int, pk: int
) -> Attachment | None:
    """One attachment of a record the portal user reaches, or None (the view answers 404)."""
    if record_detail(portal_user, module, record_pk) is None:
        return None
    return record_notes_api.record_attachment(
        org=portal_user.org, module=module.key, record_id=record_pk, pk=pk
    )


def portal_note_add(portal_user: PortalUser, module: SharedModule, record, body: str) -> Note:
    """POR-7: a note from the portal, where the group has "notes" on the module."""
    if not module.can_note or record_detail(portal_user, module, record.pk) is None:
        raise PermissionDenied
    return record_notes_api.note_add(
        org=portal_user.org,
        module=module.key,
        record_id=record.pk,
        body=body,
        portal_user_id=portal_user.pk,
        author_name=portal_author_name(portal_user),
    )


def portal_attachment_add(portal_user: PortalUser, module: SharedModule, record, upload):
    """POR-7: a file from the portal, where the group has "attachments" on the module."""
    if not module.can_attach or record_detail(portal_user, module, record.pk) is None:
        raise PermissionDenied
    return record_notes_api.attachment_add(
        org=portal_user.org,
        module=module.key,
        record_id=record.pk,
        upload=upload,
        portal_user_id=portal_user.pk,
        author_name=portal_author_name(portal_user),
    )


def may_sign_in(portal: Portal, user) -> bool:
    """Whether the account is a portal user of this portal who may sign in (POR-4): active,
    or login pending (an email change waits; they sign in with the old address)."""
    return PortalUser.objects.filter(
        portal=portal,
        user=user,
        status__in=(PortalUser.Status.ACTIVE, PortalUser.Status.LOGIN_PENDING),
    ).exists()


def portal_user_language_set(portal_user: PortalUser, language: str) -> None:
    """The language of the portal user's pages and mail (a language the portal offers)."""
    portal_user.language = language
    portal_user.save(update_fields=["language", "updated_at"])
