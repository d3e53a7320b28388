"""Contact import: the user import's engine (IMP-1 … IMP-7) for contacts (REC-1).

Files are read by imports.spreadsheets, the wizard's steps and the worker loop are the user
import's, and every row is written by records.services — so a value is valid or not exactly as
in the UI and the API, and every contact the import adds or changes gets one event in the
transaction that changes it, together with the row's outcome (REC-3, IMP-7).
"""

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from imports.spreadsheets import read_table_isolated
from users.import_services import (
    _batch_size,
    _plan,
    _require_not_started,
    import_queue,
    import_resume,
    import_run,
    mapping_checked,
    user_import_counts,
)
from users.importing import HEADER_ALIASES as USER_HEADER_ALIASES
from users.importing import RowPlan, auto_mapping, normalise_header
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


def header_lookup(org: Organization) -> dict[str, str]:
    """{normalised header: field}: the aliases, then every field's label in English and
    Japanese (custom fields' labels as the admin wrote them)."""
    lookup = {
        normalise_header(alias): key for key, aliases in HEADER_ALIASES.items() for alias in aliases
    }
    for key, label in import_fields(org):
        for language in ("en", "ja"):
            with translation.override(language):
                lookup.setdefault(normalise_header(str(label)), key)
    return lookup


def sample_headers(org: Organization) -> list[str]:
    """Sample file headers in the current language (IMP-1); they map back automatically."""
    return [str(label) for key, label in import_fields(org) if key != "id"]


def sample_row(org: Organization) -> list[str]:
    return [SAMPLE_ROW.get(key, "") for key, _label in import_fields(org) if key != "id"]


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


def _require_mode(actor: CrmUser, mode: str) -> None:
    if mode not in allowed_modes(actor):
        raise PermissionDenied


# --- planning -----------------------------------------------------------------------------------


class ContactPlanner:
    """Plans rows in file order, as the importer may (USR-1, USR-2), remembering what earlier
    rows of the same file did: the emails they claimed and the contacts they changed. The
    preview and the worker plan alike; the record services still have the last word."""

    def __init__(self, *, contact_import: ContactImport, rows):
        """Loads only the contacts, accounts and owners that `rows` name."""
        self.imp = contact_import
        self.actor = contact_import.created_by
        self.specs = {spec.key: spec for spec in field_specs(contact_import.org, "contacts")}
        self.labels = {**EXTRA_FIELDS, **{key: spec.label for key, spec in self.specs.items()}}
        cells = [self._cells(row.values) for row in rows]
        self.by_email, self.by_id = self._contacts(cells)
        self.accounts = self._accounts(cells)
        self.owners = self._owners(cells)
        self.claimed_emails: dict[str, int] = {}
        self.claimed_contacts: dict[int, int] = {}
        done = contact_import.rows.filter(
            outcome__in=[ContactImportRow.Outcome.ADDED, ContactImportRow.Outcome.UPDATED]
        ).values_list("row_number", "values", "contact_id")
        for number, values, contact_id in done:  # rows of an earlier batch or run
            self._claim(number, self._cells(values).get("email", ""), contact_id)

    # --- reading the rows ---------------------------------------------------------------------

    def _cells(self, values: list[str]) -> dict[str, str]:
        cells = {}
        for index, key in self.imp.mapping.items():
            position = int(index)
            cells[key] = (values[position] if position < len(values) else "").strip()
        return cells

    def _contacts(self, cells) -> tuple[dict, dict]:
        """Only contacts the importer sees can be matched (USR-2); others are no match."""
        if self.actor is None:
            return {}, {}
        emails = {c["email"].lower() for c in cells if c.get("email")}
        ids = {int(c["id"]) for c in cells if _is_id(c.get("id", ""))}
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
        cells = self._cells(values)
        email = cells.get("email", "").lower()
        if email in self.claimed_emails:
            return RowPlan(
                "skip",
                _("%(email)s appears earlier in the file (row %(row)s).")
                % {"email": email, "row": self.claimed_emails[email]},
            )
        matches = self._matches(cells)
        mode = self.imp.mode
        if len(matches) == 1:
            return self._plan_existing(matches[0], cells)
        if matches:  # several contacts share the email address
            if mode == ContactImport.Mode.ADD:
                return RowPlan("skip", _("%(email)s is already a contact.") % {"email": email})
            return RowPlan(
                "error",
                _("%(count)s contacts have the email address %(email)s; match by contact ID.")
                % {"count": len(matches), "email": email},
            )
        if mode == ContactImport.Mode.UPDATE:
            return RowPlan("skip", self._no_match(cells))
        if self.imp.match_key == ContactImport.MatchKey.ID and cells.get("id"):
            return RowPlan("error", self._no_match(cells))
        return self._plan_create(cells)

    def _matches(self, cells) -> list[Contact]:
        if self.imp.match_key == ContactImport.MatchKey.ID:
            raw = cells.get("id", "")
            found = self.by_id.get(int(raw)) if _is_id(raw) else None
            return [found] if found else []
        return self.by_email.get(cells.get("email", "").lower(), [])

    def _no_match(self, cells) -> str:
        key = self.imp.match_key
        if not cells.get(key):
            return _("No matching contact: the row has no %(field)s.") % {"field": self.labels[key]}
        return _("No matching contact for %(value)s.") % {"value": cells[key]}

    def _plan_existing(self, contact: Contact, cells) -> RowPlan:
        if contact.pk in self.claimed_contacts:
            return RowPlan(
                "skip",
                _("This contact was already changed by row %(row)s.")
                % {"row": self.claimed_contacts[contact.pk]},
            )
        if self.imp.mode == ContactImport.Mode.ADD:
            return RowPlan(
                "skip", _("%(name)s is already a contact.") % {"name": contact.email or contact}
            )
        if not self.actor.can(EDIT):
            return RowPlan("error", _("%(name)s may no longer edit contacts.") % self.who())
        keep = self.imp.keep_empty
        data = {k: v for k, v in cells.items() if k != "id" and (v or not keep)}
        cleaned, errors = self._checked(data, creating=False)
        if errors:
            return RowPlan("error", self.reason(errors))
        if not any(self._changed(contact, key, value) for key, value in cleaned.items()):
            return RowPlan("skip", _("Nothing to change."), target=contact)
        return RowPlan("update", values=data, target=contact)

    def _plan_create(self, cells) -> RowPlan:
        if self.actor is None or not self.actor.can(CREATE):
            return RowPlan("error", _("%(name)s may no longer create contacts.") % self.who())
        data = {k: v for k, v in cells.items() if k != "id" and v}
        _cleaned, errors = self._checked(data, creating=True)
        if errors:
            return RowPlan("error", self.reason(errors))
        data.setdefault("owner", self.actor.pk)  # new contacts are the importer's by default
        return RowPlan("create", values=data)

    def who(self) -> dict:
        return {"name": self.actor or _("The person who started this import")}

    def _checked(self, data: dict, *, creating: bool) -> tuple[dict, dict]:
        """Names become ids (account, owner) in `data`; every value is validated as the
        record services will. Returns the cleaned values and {field: [messages]}."""
        cleaned, errors = {}, {}
        for name in RELATED:
            if name in data:
                try:
                    data[name] = cleaned[name] = self._related(name, data[name])
                except ValidationError as error:
                    errors[name] = error.messages
        for key, spec in self.specs.items():
            if key in data or (creating and spec.required):
                try:
                    cleaned[key] = clean_value(spec, data.get(key))
                except ValidationError as error:
                    errors[key] = error.messages
        return cleaned, errors

    def _related(self, name: str, value: str) -> int | None:
        if not value:
            return None  # an empty cell clears it (when the import does not keep values)
        found = (self.accounts if name == "account" else self.owners).get(value.lower(), [])
        if len(found) == 1:
            return found[0].pk
        if name == "owner":
            message = _("No CRM user of this organisation has the email address %(value)s.")
        elif found:
            message = _("%(count)s accounts are named “%(value)s”.")
        else:
            message = _("No account is named “%(value)s”. Create it first, then import again.")
        raise ValidationError(message % {"value": value, "count": len(found)})

    def _changed(self, contact: Contact, key: str, value) -> bool:
        if key in RELATED:
            return getattr(contact, f"{key}_id") != value
        if self.specs[key].custom:
            return (contact.custom or {}).get(key) != value
        return getattr(contact, key) != (empty_default(contact, key) if value is None else value)

    def reason(self, errors: dict) -> str:
        """{field: [messages]} as one line: "Field: message; Field: message"."""
        return "; ".join(
            message if key == NON_FIELD_ERRORS else f"{self.labels.get(key, key)}: {message}"
            for key, messages in errors.items()
            for message in messages
        )

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


def _is_id(raw: str) -> bool:
    return raw.isdigit() and len(raw) < 19  # beyond a bigint is no contact's ID


# --- the wizard -----------------------------------------------------------------------------


def contact_import_upload(
    *, org: Organization, actor: CrmUser, filename: str, data: bytes
) -> ContactImport:
    """Read the file (refusing bad, huge and malicious files before any row is stored) and
    keep its rows. Raises spreadsheets.SpreadsheetError for a file we won't read."""
    modes = allowed_modes(actor)
    if not modes:
        raise PermissionDenied
    table = read_table_isolated(
        data,
        filename,
        memory_mb=settings.SPREADSHEET_PARSE_MEMORY_MB,
        cpu_seconds=settings.SPREADSHEET_PARSE_CPU_SECONDS,
    )
    with transaction.atomic():
        imp = ContactImport.objects.create(
            org=org,
            created_by=actor,
            filename=filename[:255],
            file_format=table.format,
            encoding=table.encoding or "",
            headers=table.headers,
            mode=modes[0],
            mapping=auto_mapping(table.headers, header_lookup(org)),
            total_rows=len(table.rows),
        )
        ContactImportRow.objects.bulk_create(
            ContactImportRow(org=org, contact_import=imp, row_number=number, values=values)
            for number, values in zip(table.row_numbers, table.rows, strict=True)
        )
    return imp


def contact_import_configure(
    *, imp: ContactImport, actor: CrmUser, mode: str, match_key: str, keep_empty: bool
) -> ContactImport:
    _require_mode(actor, mode)
    _require_not_started(imp)
    imp.mode, imp.match_key, imp.keep_empty = mode, match_key, keep_empty
    imp.save(update_fields=["mode", "match_key", "keep_empty"])
    return imp


def contact_import_set_mapping(
    *, imp: ContactImport, actor: CrmUser, mapping: dict
) -> ContactImport:
    """`mapping` is {column index: field or ""}. Each field once; adding needs the required
    fields, updating the match key."""
    _require_mode(actor, imp.mode)
    _require_not_started(imp)
    fields = import_fields(imp.org)
    needed = []
    if imp.mode != ContactImport.Mode.UPDATE:
        needed += [s.key for s in field_specs(imp.org, "contacts") if s.required]
    if imp.mode != ContactImport.Mode.ADD:
        needed.append(imp.match_key)  # "email" and "id" are fields of the mapping too
    imp.mapping = mapping_checked(
        headers=imp.headers, mapping=mapping, labels=dict(fields), needed=needed
    )
    imp.save(update_fields=["mapping"])
    return imp


def contact_import_preview(*, imp: ContactImport) -> list[tuple[ContactImportRow, RowPlan]]:
    """What each row would do if the import ran now. Writes nothing."""
    rows = list(imp.rows.all())
    planner = ContactPlanner(contact_import=imp, rows=rows)
    plans = []
    for row in rows:
        plan = _plan(planner, row)
        planner.claim(plan, row.row_number)
        plans.append((row, plan))
    return plans


@transaction.atomic
def contact_import_start(*, imp: ContactImport, actor: CrmUser) -> ContactImport:
    from .tasks import run_contact_import_task

    _require_mode(actor, imp.mode)
    return import_queue(imp, run_contact_import_task)


def contact_import_resume(*, imp: ContactImport, actor: CrmUser) -> bool:
    """Hand an unfinished import to a worker again; rows done stay done (IMP-7). False when
    it had finished meanwhile."""
    from .tasks import run_contact_import_task

    if not can_import_contacts(actor):
        raise PermissionDenied
    return import_resume(imp, run_contact_import_task)


contact_import_counts = user_import_counts  # counts per outcome: the same for both imports


# --- the worker -------------------------------------------------------------------------------


def contact_import_run(*, import_id: int) -> None:
    """The worker's part: batches of rows in file order, each row in a savepoint with its
    contact, its event and its outcome; progress after each batch."""
    imp = ContactImport.objects.select_related("org", "created_by").get(pk=import_id)
    import_run(imp, _run_batch)


def _run_batch(imp: ContactImport) -> bool:
    with transaction.atomic():
        # Batches of two workers (a resumed run) take turns, in file order.
        ContactImport.objects.select_for_update().get(pk=imp.pk)
        rows = list(
            imp.rows.select_for_update()
            .filter(outcome=ContactImportRow.Outcome.PENDING)
            .order_by("row_number")[: _batch_size()]
        )
        if not rows:
            return False
        planner = ContactPlanner(contact_import=imp, rows=rows)
        for row in rows:
            _run_row(imp, planner, row)
        ContactImport.objects.filter(pk=imp.pk).update(
            processed_rows=F("processed_rows") + len(rows)
        )
    return True


def _run_row(imp: ContactImport, planner: ContactPlanner, row: ContactImportRow) -> None:
    """One row in its own savepoint: the contact, its event and the row's outcome commit
    together or not at all, so a crash or a second run neither duplicates nor loses it."""
    plan = _plan(planner, row)
    try:
        with transaction.atomic():
            plan = _write(imp, plan)
            row.outcome, row.reason, row.contact = plan.outcome, plan.reason, plan.target
            row.save(update_fields=["outcome", "reason", "contact"])
    except ValidationError as error:  # the services' verdict, field by field
        errors = (
            error.message_dict
            if hasattr(error, "error_dict")
            else {NON_FIELD_ERRORS: error.messages}
        )
        _fail(row, planner.reason(errors))
    except PermissionDenied:
        _fail(row, _("%(name)s may no longer change contacts.") % planner.who())
    except DatabaseError as error:
        _fail(row, _("Could not be saved: %(error)s") % {"error": error})
    else:
        planner.claim(plan, row.row_number)


def _write(imp: ContactImport, plan: RowPlan) -> RowPlan:
    source = RecordEvent.Source.IMPORT
    if plan.action == "create":
        plan.target = record_create(
            org=imp.org, actor=imp.created_by, module="contacts", data=plan.values, source=source
        )
    elif plan.action == "update":
        event = record_update(
            record=plan.target, actor=imp.created_by, data=plan.values, source=source
        )
        if event is None:
            return RowPlan("skip", _("Nothing to change."), target=plan.target)
    return plan


def _fail(row: ContactImportRow, reason: str) -> None:
    row.outcome, row.reason, row.contact = ContactImportRow.Outcome.FAILED, reason, None
    row.save(update_fields=["outcome", "reason", "contact"])
