"""What the import engine is told about one kind of import (users, contacts, …), so that it
knows none of them: an `ImportKind` names the kind's tables, its fields and header names, who
may use which mode, and its `RowPlanner` — what a row means and how it is written.

The worker is handed a kind's key, never the kind: `import_kind(key)` finds it in
settings.IMPORT_KINDS, the one place that lists every kind."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.utils.module_loading import import_string

from crm_portal.stored_messages import dumps, render_text

from .columns import header_lookup
from .models import ImportRow, ImportRun


@dataclass
class RowPlan:
    """What one row will do, and then did: its action, why (for a skip or an error), the
    values to write and the record it writes to."""

    action: str  # "create", "update", "skip" or "error"
    reason: str = ""  # a stored message (crm_portal.stored_messages.dumps), or ""
    values: dict = field(default_factory=dict)
    target: Any = None

    @property
    def reason_text(self) -> str:
        return render_text(self.reason)

    @property
    def outcome(self) -> str:
        return {"create": "added", "update": "updated", "skip": "skipped", "error": "failed"}[
            self.action
        ]


class RowPlanner:
    """What one kind of import makes of its rows. Rows are planned in file order against the
    org's state, remembering what earlier rows of the same file do; the preview and the
    worker plan alike, so what the preview promises is what the run does (unless the org
    changed in between: the worker plans against the state at run time).

    The engine builds one for the preview and one per batch of the worker, with the stored
    rows it will plan, so a planner loads only what those rows name."""

    # True when write_all writes a whole batch at once. Should the database refuse that, the
    # engine writes the batch again row by row with a new planner, so only the refused row
    # fails.
    writes_in_bulk = False

    def __init__(self, *, imp: ImportRun, rows: list[ImportRow]):
        self.imp = imp

    def cells(self, values: list[str]) -> dict[str, str]:
        """{field: cell} of one row, as the import maps its columns."""
        cells = {}
        for index, key in self.imp.mapping.items():
            position = int(index)
            cells[key] = (values[position] if position < len(values) else "").strip()
        return cells

    def plan(self, values: list[str], row_number: int) -> RowPlan:
        raise NotImplementedError

    def plan_row(self, row: ImportRow) -> RowPlan:
        """A stored row's plan; a row we cannot make sense of fails alone."""
        try:
            return self.plan(row.values, row.row_number)
        except Exception as error:
            return RowPlan("error", dumps("row.unreadable", error=str(error)))

    def claim(self, plan: RowPlan, row_number: int) -> None:
        """Called once a row's plan holds (written, or in the preview planned), for a planner
        that remembers what earlier rows did only once it is done."""

    def write(self, plan: RowPlan) -> RowPlan:
        """Write one planned row; the plan it ended as (a write may find nothing to change).
        A ValidationError or PermissionDenied fails the row with `refusal_reason`."""
        raise NotImplementedError

    def write_all(self, plans: list[RowPlan]) -> None:
        """Write a batch of planned rows at once (when `writes_in_bulk`), setting each new
        record as its plan's target."""
        raise NotImplementedError

    def refusal_reason(self, refusal: ValidationError | PermissionDenied) -> str:
        """A row that `write` refused, in the member's words. A kind whose writes never
        refuse lets such an error through, as any other bug."""
        raise refusal


def lock_import(imp: ImportRun) -> None:
    """Batches of two workers on the same import (a resumed run) take turns, in file order."""
    type(imp).objects.select_for_update().get(pk=imp.pk)


@dataclass(frozen=True, kw_only=True)
class ImportKind:
    """One kind of import, as the engine sees it."""

    key: str  # what a worker is handed; settings.IMPORT_KINDS lists the kind under it
    run_model: type[ImportRun]
    row_model: type[ImportRow]
    run_field: str  # the row's foreign key to its run, e.g. "user_import"
    target_field: str  # the row's foreign key to the record it added or updated
    planner: type[RowPlanner]
    fields: Callable[[Any], list[tuple[str, Any]]]  # (org) -> [(field, label)] a column may fill
    header_aliases: dict[str, list[str]]  # {field: [header, …]} besides the fields' labels
    id_field: str  # the field holding a record's ID: left out of the sample file
    sample_values: dict[str, str]  # {field: value} of the sample file's row
    columns_needed: Callable[[ImportRun], list[str]]  # the fields the chosen options need
    allowed_modes: Callable[[Any], list[str]]  # (member) -> the modes they may use
    lock_batch: Callable[[ImportRun], None] = lock_import  # taken before each batch

    def header_lookup(self, org) -> dict[str, str]:
        return header_lookup(self.header_aliases, self.fields(org))

    def sample(self, org) -> tuple[list[str], list[list[str]]]:
        """A sample file's headers in the current language and one row (IMP-1): every field
        but the ID, so it adds records; its headers map back by themselves."""
        fields = [(key, label) for key, label in self.fields(org) if key != self.id_field]
        headers = [str(label) for _key, label in fields]
        return headers, [[self.sample_values.get(key, "") for key, _label in fields]]


def import_kind(key: str) -> ImportKind:
    """The kind settings.IMPORT_KINDS lists under `key`."""
    kind = import_string(settings.IMPORT_KINDS[key])
    if kind.key != key:
        raise ImproperlyConfigured(f"IMPORT_KINDS[{key!r}] is the import kind {kind.key!r}.")
    return kind
