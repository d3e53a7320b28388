"""Contact import (REC-1): which fields a column may fill, and what each row does — the
contact kind of the import engine (imports/, IMP-1 … IMP-7).

Every row is written by records.services, so a value is valid or not exactly as in the UI and
the API, and every contact the import adds or changes gets one event in the transaction that
changes it, together with the row's outcome (REC-3, IMP-7).
"""

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy, pgettext_lazy

from crm_portal.stored_messages import MESSAGES, dumps, from_validation_error, stored
from imports.columns import is_id
from imports.kinds import ImportKind, RowPlan, RowPlanner
from users.importing import HEADER_ALIASES as USER_HEADER_ALIASES
from users.models import CrmUser, Organization
from users.permissions import record_permission

from .fields import clean_value
from .models import Account, Contact, ContactImport, ContactImportRow, RecordEvent
from .modules import field_specs
from .selectors import contacts_visible_to
from .services import empty_default, record_create, record_update

CREATE, EDIT = record_permission("contacts", "create"), record_permission("contacts", "edit")
RELATED = ("account", "owner")  # given by the account's name and the owner's email address
EXTRA_FIELDS = {
    "id": gettext_lazy("Contact ID"),
    "account": pgettext_lazy("crm record", "Account"),
    "owner": gettext_lazy("Owner"),
}
_SHARED = ("first_name", "last_name", "email", "phone", "mobile")
_ADDRESS = ("street", "city", "state", "postal_code", "country")
# Header names in English and Japanese, besides the fields' own labels in both languages.
HEADER_ALIASES = {
    **{key: USER_HEADER_ALIASES[key] for key in _SHARED + _ADDRESS},
    "id": ["contact id", "id", "record id", "連絡先id", "コンタクトid", "顧客id"],
    "secondary_email": ["secondary email", "other email", "email 2", "サブメール", "メール2"],
    "title": ["title", "job title", "position", "役職", "肩書き", "肩書"],
    "department": ["department", "部署", "部署名", "部門"],
    "subscription": ["subscription", "plan", "契約", "サブスクリプション", "プラン"],
    "language": ["language", "言語"],
    "description": ["description", "notes", "note", "説明", "備考", "メモ"],
    "account": [
        "account",
        "account name",
        "company",
        "company name",
        "organisation",
        "organization",
        "会社",
        "会社名",
        "企業名",
        "取引先",
        "取引先名",
        "アカウント名",
    ],
    "owner": ["owner", "owner email", "contact owner", "所有者", "担当者", "担当者メール"],
}
SAMPLE_ROW = {
    "first_name": "Taro",
    "last_name": "Yamada",
    "email": "taro.yamada@example.com",
    "phone": "+81 3-1234-5678",
    "subscription": "trial",
    "language": "ja",
    "country": "JP",
}


def import_fields(org: Organization) -> list[tuple[str, str]]:
    """The mapping's choices: contact ID, the standard fields, account, owner, then the
    org's custom fields."""
    specs = field_specs(org, "contacts")
    return [
        ("id", EXTRA_FIELDS["id"]),
        *((s.key, s.label) for s in specs if not s.custom),
        ("account", EXTRA_FIELDS["account"]),
        ("owner", EXTRA_FIELDS["owner"]),
        *((s.key, s.label) for s in specs if s.custom),
    ]


# --- permissions ------------------------------------------------------------------------------


def allowed_modes(membership: CrmUser | None) -> list[str]:
    """Adding needs contacts.create, updating contacts.edit, both modes both (USR-1)."""
    if membership is None:
        return []
    create, edit = membership.can(CREATE), membership.can(EDIT)
    needs = {ContactImport.Mode.ADD: create, ContactImport.Mode.UPDATE: edit}
    needs[ContactImport.Mode.BOTH] = create and edit
    return [mode for mode, allowed in needs.items() if allowed]


def can_import_contacts(membership: CrmUser | None) -> bool:
    return bool(allowed_modes(membership))


# --- planning -----------------------------------------------------------------------------------


class ContactPlanner(RowPlanner):
    """Plans rows in file order, as the importer may (USR-1, USR-2), remembering what earlier
    rows of the same file did: the emails they claimed and the contacts they changed. The
    preview and the worker plan alike; the record services still have the last word, row by
    row."""

    def __init__(self, *, imp: ContactImport, rows: list[ContactImportRow]):
        """Loads only the contacts, accounts and owners that `rows` name."""
        super().__init__(imp=imp, rows=rows)
        self.actor = imp.created_by
        self.specs = {spec.key: spec for spec in field_specs(imp.org, "contacts")}
        self.labels = {**EXTRA_FIELDS, **{key: spec.label for key, spec in self.specs.items()}}
        cells = [self.cells(row.values) for row in rows]
        self.by_email, self.by_id = self._contacts(cells)
        self.accounts = self._accounts(cells)
        self.owners = self._owners(cells)
        self.claimed_emails: dict[str, int] = {}
        self.claimed_contacts: dict[int, int] = {}
        done = imp.rows.filter(
            outcome__in=[ContactImportRow.Outcome.ADDED, ContactImportRow.Outcome.UPDATED]
        ).values_list("row_number", "values", "contact_id")
        for number, values, contact_id in done:  # rows of an earlier batch or run
            self._claim(number, self.cells(values).get("email", ""), contact_id)

    # --- reading the rows ---------------------------------------------------------------------

    def _contacts(self, cells) -> tuple[dict, dict]:
        """Only contacts the importer sees can be matched (USR-2); others are no match."""
        if self.actor is None:
            return {}, {}
        emails = {c["email"].lower() for c in cells if c.get("email")}
        ids = {int(c["id"]) for c in cells if is_id(c.get("id", ""))}
        found = (
            contacts_visible_to(membership=self.actor)
            .annotate(email_lower=Lower("email"))
            .filter(Q(email_lower__in=emails) | Q(pk__in=ids))
        )
        by_email, by_id = {}, {}
        for contact in found:
            by_id[contact.pk] = contact
            if contact.email:
                by_email.setdefault(contact.email.lower(), []).append(contact)
        return by_email, by_id

    def _accounts(self, cells) -> dict[str, list[Account]]:
        names = {c["account"].lower() for c in cells if c.get("account")}
        if not names:
            return {}
        found = {}
        accounts = Account.objects.filter(org=self.imp.org).annotate(name_lower=Lower("name"))
        for account in accounts.filter(name_lower__in=names):
            found.setdefault(account.name.lower(), []).append(account)
        return found

    def _owners(self, cells) -> dict[str, list[CrmUser]]:
        emails = {c["owner"].lower() for c in cells if c.get("owner")}
        if not emails:
            return {}
        members = (
            CrmUser.objects.filter(org=self.imp.org)
            .exclude(status=CrmUser.Status.DEACTIVATED)
            .annotate(email_lower=Lower("email"))
            .filter(email_lower__in=emails)
        )
        return {member.email.lower(): [member] for member in members}

    # --- planning a row ---------------------------------------------------------------------

    def plan(self, values: list[str], row_number: int) -> RowPlan:
        cells = self.cells(values)
        email = cells.get("email", "").lower()
        if email in self.claimed_emails:
            return RowPlan(
                "skip",
                dumps("row.earlier_in_file", email=email, row=self.claimed_emails[email]),
            )
        matches = self._matches(cells)
        mode = self.imp.mode
        if len(matches) == 1:
            return self._plan_existing(matches[0], cells)
        if matches:  # several contacts share the email address
            if mode == ContactImport.Mode.ADD:
                return RowPlan("skip", dumps("contact.already_contact", name=email))
            return RowPlan(
                "error",
                dumps("contact.shared_email", count=len(matches), email=email),
            )
        if mode == ContactImport.Mode.UPDATE:
            return RowPlan("skip", self._no_match(cells))
        if self.imp.match_key == ContactImport.MatchKey.ID and cells.get("id"):
            return RowPlan("error", self._no_match(cells))
        return self._plan_create(cells)

    def _matches(self, cells) -> list[Contact]:
        if self.imp.match_key == ContactImport.MatchKey.ID:
            raw = cells.get("id", "")
            found = self.by_id.get(int(raw)) if is_id(raw) else None
            return [found] if found else []
        return self.by_email.get(cells.get("email", "").lower(), [])

    def _no_match(self, cells) -> str:
        key = self.imp.match_key
        if not cells.get(key):
            return dumps("contact.no_match_empty", field=self.labels[key])
        return dumps("contact.no_match", value=cells[key])

    def _plan_existing(self, contact: Contact, cells) -> RowPlan:
        if contact.pk in self.claimed_contacts:
            return RowPlan(
                "skip",
                dumps("contact.already_changed", row=self.claimed_contacts[contact.pk]),
            )
        if self.imp.mode == ContactImport.Mode.ADD:
            return RowPlan(
                "skip", dumps("contact.already_contact", name=str(contact.email or contact))
            )
        if not self.actor.can(EDIT):
            return RowPlan("error", dumps("contact.may_not_edit", **self.who()))
        keep = self.imp.keep_empty
        data = {k: v for k, v in cells.items() if k != "id" and (v or not keep)}
        cleaned, errors = self._checked(data, creating=False)
        if errors:
            return RowPlan("error", self.reason(errors))
        if not any(self._changed(contact, key, value) for key, value in cleaned.items()):
            return RowPlan("skip", dumps("row.nothing_to_change"), target=contact)
        return RowPlan("update", values=data, target=contact)

    def _plan_create(self, cells) -> RowPlan:
        if self.actor is None or not self.actor.can(CREATE):
            return RowPlan("error", dumps("contact.may_not_create", **self.who()))
        data = {k: v for k, v in cells.items() if k != "id" and v}
        _cleaned, errors = self._checked(data, creating=True)
        if errors:
            return RowPlan("error", self.reason(errors))
        data.setdefault("owner", self.actor.pk)  # new contacts are the importer's by default
        return RowPlan("create", values=data)

    def who(self) -> dict:
        return {"name": str(self.actor) if self.actor else stored("importer.unknown")}

    def _checked(self, data: dict, *, creating: bool) -> tuple[dict, dict]:
        """Names become ids (account, owner) in `data`; every value is validated as the
        record services will. Returns the cleaned values and {field: [messages]}."""
        cleaned, errors = {}, {}
        for name in RELATED:
            if name in data:
                try:
                    data[name] = cleaned[name] = self._related(name, data[name])
                except ValidationError as error:
                    errors[name] = from_validation_error(error)
        for key, spec in self.specs.items():
            if key in data or (creating and spec.required):
                try:
                    cleaned[key] = clean_value(spec, data.get(key))
                except ValidationError as error:
                    errors[key] = from_validation_error(error)
        return cleaned, errors

    def _related(self, name: str, value: str) -> int | None:
        if not value:
            return None  # an empty cell clears it (when the import does not keep values)
        found = (self.accounts if name == "account" else self.owners).get(value.lower(), [])
        if len(found) == 1:
            return found[0].pk
        if name == "owner":
            code = "contact.no_such_owner"
        elif found:
            code = "contact.many_accounts"
        else:
            code = "contact.no_such_account"
        params = {"value": value, "count": len(found)}
        raise ValidationError(MESSAGES[code], code=code, params=params)

    def _changed(self, contact: Contact, key: str, value) -> bool:
        if key in RELATED:
            return getattr(contact, f"{key}_id") != value
        if self.specs[key].custom:
            return (contact.custom or {}).get(key) != value
        return getattr(contact, key) != (empty_default(contact, key) if value is None else value)

    def reason(self, errors: dict) -> str:
        """{field: [stored messages]} as one stored message, shown as one line:
        "Field: problem; Field: problem"."""
        problems = [
            message
            if key == NON_FIELD_ERRORS
            else stored("row.field_problem", field=self.labels.get(key, key), problem=message)
            for key, messages in errors.items()
            for message in messages
        ]
        return dumps("row.problems", problems=problems)

    # --- writing a row -------------------------------------------------------------------------

    def write(self, plan: RowPlan) -> RowPlan:
        source = RecordEvent.Source.IMPORT
        if plan.action == "create":
            plan.target = record_create(
                org=self.imp.org,
                actor=self.actor,
                module="contacts",
                data=plan.values,
                source=source,
            )
        elif plan.action == "update":
            event = record_update(
                record=plan.target, actor=self.actor, data=plan.values, source=source
            )
            if event is None:
                return RowPlan("skip", dumps("row.nothing_to_change"), target=plan.target)
        return plan

    def refusal_reason(self, refusal: ValidationError | PermissionDenied) -> str:
        """The record services' verdict, field by field, or the importer's lost permission."""
        if isinstance(refusal, PermissionDenied):
            return dumps("contact.may_not_change", **self.who())
        if hasattr(refusal, "error_dict"):
            errors = refusal.error_dict.items()
            return self.reason({k: from_validation_error(ValidationError(e)) for k, e in errors})
        return self.reason({NON_FIELD_ERRORS: from_validation_error(refusal)})

    # --- what earlier rows did ----------------------------------------------------------------

    def claim(self, plan: RowPlan, row_number: int) -> None:
        """Called once a row's plan holds (written, or in the preview planned)."""
        if plan.action in ("create", "update"):
            contact_id = plan.target.pk if plan.target else None
            self._claim(row_number, plan.values.get("email", ""), contact_id)

    def _claim(self, row_number: int, email: str, contact_id: int | None) -> None:
        if email:
            self.claimed_emails.setdefault(email.lower(), row_number)
        if contact_id:
            self.claimed_contacts.setdefault(contact_id, row_number)


def columns_needed(imp: ContactImport) -> list[str]:
    """Adding needs the required fields; updating, the column contacts are found by."""
    needed = []
    if imp.mode != ContactImport.Mode.UPDATE:
        needed += [s.key for s in field_specs(imp.org, "contacts") if s.required]
    if imp.mode != ContactImport.Mode.ADD:
        needed.append(imp.match_key)  # "email" and "id" are fields of the mapping too
    return needed


CONTACT_IMPORT = ImportKind(
    key="contacts",
    run_model=ContactImport,
    row_model=ContactImportRow,
    run_field="contact_import",
    target_field="contact",
    planner=ContactPlanner,
    fields=import_fields,
    header_aliases=HEADER_ALIASES,
    id_field="id",
    sample_values=SAMPLE_ROW,
    columns_needed=columns_needed,
    allowed_modes=allowed_modes,
)
