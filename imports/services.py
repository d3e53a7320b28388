"""Writes of every spreadsheet import (IMP-1 … IMP-7), whatever it imports: the wizard calls
upload → configure → set mapping → start (or resume); the worker runs the import in batches.
Each row is written with its outcome, so a crash or a second run neither duplicates nor loses a
row (IMP-7). What a row means comes from the kind's planner (imports.kinds)."""

import time

from celery import shared_task
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused
from crm_portal.tenancy import TenantTask

from .columns import auto_mapping, mapping_checked
from .kinds import ImportKind, RowPlan, RowPlanner, import_kind
from .models import ImportRow, ImportRun
from .spreadsheets import read_table_isolated


def _require_mode(kind: ImportKind, actor, mode: str) -> None:
    if mode not in kind.allowed_modes(actor):
        raise PermissionDenied


def _require_not_started(imp: ImportRun) -> None:
    if imp.status != ImportRun.Status.UPLOADED:
        raise ActionRefused(_("This import has already been started."))


def import_upload(*, kind: ImportKind, org, actor, filename: str, data: bytes) -> ImportRun:
    """Read the file (refusing bad, huge and malicious files before any row is stored) and
    keep its rows, with the columns mapped as far as their headers tell. Raises
    spreadsheets.SpreadsheetError for a file we won't read."""
    modes = kind.allowed_modes(actor)
    if not modes:
        raise PermissionDenied
    table = read_table_isolated(  # a throwaway process with hard limits does the parsing
        data,
        filename,
        memory_mb=settings.SPREADSHEET_PARSE_MEMORY_MB,
        cpu_seconds=settings.SPREADSHEET_PARSE_CPU_SECONDS,
    )
    with transaction.atomic():
        imp = kind.run_model.objects.create(
            org=org,
            created_by=actor,
            filename=filename[:255],
            file_format=table.format,
            encoding=table.encoding or "",
            headers=table.headers,
            mode=modes[0],
            mapping=auto_mapping(table.headers, kind.header_lookup(org)),
            total_rows=len(table.rows),
        )
        kind.row_model.objects.bulk_create(
            kind.row_model(org=org, row_number=number, values=values, **{kind.run_field: imp})
            for number, values in zip(table.row_numbers, table.rows, strict=True)
        )
    return imp


def import_configure(
    *, kind: ImportKind, imp: ImportRun, actor, mode: str, match_key: str, keep_empty: bool
) -> ImportRun:
    _require_mode(kind, actor, mode)
    _require_not_started(imp)
    imp.mode, imp.match_key, imp.keep_empty = mode, match_key, keep_empty
    imp.save(update_fields=["mode", "match_key", "keep_empty"])
    return imp


def import_set_mapping(*, kind: ImportKind, imp: ImportRun, actor, mapping: dict) -> ImportRun:
    """`mapping` is {column index: field or ""}. Each field once; the columns the chosen
    options need must be there."""
    _require_mode(kind, actor, imp.mode)
    _require_not_started(imp)
    imp.mapping = mapping_checked(
        headers=imp.headers,
        mapping=mapping,
        labels=dict(kind.fields(imp.org)),
        needed=kind.columns_needed(imp),
    )
    imp.save(update_fields=["mapping"])
    return imp


@transaction.atomic
def import_start(*, kind: ImportKind, imp: ImportRun, actor) -> ImportRun:
    """Mark the import queued and have a worker run it after the commit. Refused when it was
    started already."""
    _require_mode(kind, actor, imp.mode)
    imp = kind.run_model.objects.select_for_update().get(pk=imp.pk)
    _require_not_started(imp)
    imp.status = ImportRun.Status.QUEUED
    imp.save(update_fields=["status"])
    _enqueue(kind, imp)
    return imp


def import_resume(*, kind: ImportKind, imp: ImportRun, actor) -> bool:
    """Hand an unfinished import to a worker again, e.g. after a worker crashed. Rows done
    already stay done (IMP-7). False when it had finished meanwhile: nothing to do."""
    if not kind.allowed_modes(actor):
        raise PermissionDenied
    imp.refresh_from_db(fields=["status"])
    if imp.status == ImportRun.Status.UPLOADED:
        raise ActionRefused(_("This import has not been started yet."))
    if imp.status == ImportRun.Status.DONE:
        return False
    _enqueue(kind, imp)
    return True


def _enqueue(kind: ImportKind, imp: ImportRun) -> None:
    org_id, import_id = imp.org_id, imp.pk
    transaction.on_commit(lambda: run_import_task.delay(org_id, import_id, kind.key))


def import_run(*, kind: ImportKind, import_id: int) -> None:
    """The worker's part (IMP-6): batches of rows in file order, progress after each."""
    imp = kind.run_model.objects.select_related("org", "created_by").get(pk=import_id)
    if imp.status == ImportRun.Status.DONE:
        return
    imports = kind.run_model.objects.filter(pk=imp.pk)
    imports.update(status=ImportRun.Status.RUNNING, started_at=imp.started_at or timezone.now())
    while _run_batch(kind, imp):
        if settings.USER_IMPORT_BATCH_PAUSE_MS:  # spare a busy database between batches
            time.sleep(settings.USER_IMPORT_BATCH_PAUSE_MS / 1000)
    imports.update(
        status=ImportRun.Status.DONE, finished_at=timezone.now(), processed_rows=imp.total_rows
    )


@shared_task(base=TenantTask, acks_late=True, reject_on_worker_lost=True)
def run_import_task(org_id: int, import_id: int, kind: str) -> None:
    import_run(kind=import_kind(kind), import_id=import_id)


def _run_batch(kind: ImportKind, imp: ImportRun) -> bool:
    """The next batch of pending rows, in one transaction; False when none was left."""
    with transaction.atomic():
        kind.lock_batch(imp)
        rows = list(
            imp.rows.select_for_update()
            .filter(outcome=ImportRow.Outcome.PENDING)
            .order_by("row_number")[: settings.USER_IMPORT_BATCH_SIZE]
        )
        if not rows:
            return False
        planner = kind.planner(imp=imp, rows=rows)
        if planner.writes_in_bulk:
            try:
                with transaction.atomic():  # the batch written in bulk, or not at all
                    _write_all(kind, planner, rows)
            except DatabaseError:  # a refusal we did not foresee: find its row, one by one
                _write_one_by_one(kind, kind.planner(imp=imp, rows=rows), rows)
        else:
            _write_one_by_one(kind, planner, rows)
        kind.run_model.objects.filter(pk=imp.pk).update(
            processed_rows=F("processed_rows") + len(rows)
        )
    return True


def _write_all(kind: ImportKind, planner: RowPlanner, rows: list[ImportRow]) -> None:
    """Plan every row, then write the records and each row's outcome with a few statements.
    They commit together: an outcome is never stored without its record, nor a record
    without its outcome (IMP-7)."""
    plans = [planner.plan_row(row) for row in rows]
    planner.write_all(plans)
    for row, plan in zip(rows, plans, strict=True):
        _set_outcome(kind, row, plan)
        planner.claim(plan, row.row_number)
    kind.row_model.objects.bulk_update(rows, ["outcome", "reason", kind.target_field])


def _write_one_by_one(kind: ImportKind, planner: RowPlanner, rows: list[ImportRow]) -> None:
    for row in rows:
        import_row_run(kind=kind, planner=planner, row=row)


def import_row_run(*, kind: ImportKind, planner: RowPlanner, row: ImportRow) -> None:
    """One row in its own savepoint: its record and its outcome commit together or not at
    all, and only a refused row fails."""
    try:
        with transaction.atomic():
            plan = planner.write(planner.plan_row(row))
            _set_outcome(kind, row, plan)
            row.save(update_fields=["outcome", "reason", kind.target_field])
    except (ValidationError, PermissionDenied) as refusal:
        _fail(kind, row, planner.refusal_reason(refusal))
    except DatabaseError as error:
        _fail(kind, row, _("Could not be saved: %(error)s") % {"error": error})
    else:
        planner.claim(plan, row.row_number)


def _set_outcome(kind: ImportKind, row: ImportRow, plan: RowPlan) -> None:
    row.outcome, row.reason = plan.outcome, plan.reason
    setattr(row, kind.target_field, plan.target)


def _fail(kind: ImportKind, row: ImportRow, reason: str) -> None:
    _set_outcome(kind, row, RowPlan("error", reason))
    row.save(update_fields=["outcome", "reason", kind.target_field])
