"""Writes of the user import (IMP-1 … IMP-7). The wizard calls upload → configure → map →
start; the worker calls run. Each row is applied in its own savepoint and its outcome is
stored with it, so a crash or a second run neither duplicates nor loses a row (IMP-7)."""

import time

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused
from imports.spreadsheets import read_table_isolated

from . import permissions
from .audit import audit_entry
from .importing import FIELDS, Planner, RowPlan, auto_mapping
from .models import AuditLogEntry, CrmUser, Organization, UserImport, UserImportRow
from .permissions import require_permission
from .services.organizations import organization_lock


def _batch_size() -> int:
    return settings.USER_IMPORT_BATCH_SIZE


def _require_not_started(imp: UserImport) -> None:
    if imp.status != UserImport.Status.UPLOADED:
        raise ActionRefused(_("This import has already been started."))


def user_import_upload(
    *, org: Organization, actor: CrmUser, filename: str, data: bytes
) -> UserImport:
    """Read the file (refusing bad, huge and malicious files before any row is stored) and
    keep its rows. Raises spreadsheets.SpreadsheetError for a file we won't read."""
    require_permission(actor, permissions.MANAGE_USERS)
    table = read_table_isolated(  # a throwaway process with hard limits does the parsing
        data,
        filename,
        memory_mb=settings.SPREADSHEET_PARSE_MEMORY_MB,
        cpu_seconds=settings.SPREADSHEET_PARSE_CPU_SECONDS,
    )
    with transaction.atomic():
        imp = UserImport.objects.create(
            org=org,
            created_by=actor,
            filename=filename[:255],
            file_format=table.format,
            encoding=table.encoding or "",
            headers=table.headers,
            mapping=auto_mapping(table.headers),
            total_rows=len(table.rows),
        )
        UserImportRow.objects.bulk_create(
            UserImportRow(org=org, user_import=imp, row_number=number, values=values)
            for number, values in zip(table.row_numbers, table.rows, strict=True)
        )
    return imp


def user_import_configure(
    *, imp: UserImport, actor: CrmUser, mode: str, match_key: str, keep_empty: bool
) -> UserImport:
    require_permission(actor, permissions.MANAGE_USERS)
    _require_not_started(imp)
    imp.mode, imp.match_key, imp.keep_empty = mode, match_key, keep_empty
    imp.save(update_fields=["mode", "match_key", "keep_empty"])
    return imp


def user_import_set_mapping(*, imp: UserImport, actor: CrmUser, mapping: dict) -> UserImport:
    """`mapping` is {column index: field or ""}. Each field once; the columns the chosen
    mode needs must be there."""
    require_permission(actor, permissions.MANAGE_USERS)
    _require_not_started(imp)
    needed = []
    if imp.mode != UserImport.Mode.UPDATE:
        needed += ["email", "last_name"]
    if imp.mode != UserImport.Mode.ADD:
        needed.append("user_id" if imp.match_key == UserImport.MatchKey.ID else "email")
    imp.mapping = mapping_checked(
        headers=imp.headers, mapping=mapping, labels=dict(FIELDS), needed=needed
    )
    imp.save(update_fields=["mapping"])
    return imp


def mapping_checked(*, headers: list, mapping: dict, labels: dict, needed: list[str]) -> dict:
    """{column index: field} without the unmapped columns, or ActionRefused: only fields of
    `labels` ({field: label}), each at most once, and every field of `needed` present."""
    chosen = {str(i): f for i, f in mapping.items() if f}
    unknown = set(chosen.values()) - set(labels)
    if unknown or any(not i.isdigit() or int(i) >= len(headers) for i in chosen):
        raise ActionRefused(_("Choose fields from the lists."))
    fields = list(chosen.values())
    twice = sorted({f for f in fields if fields.count(f) > 1})
    if twice:
        raise ActionRefused(
            _("Each field can take only one column: %(fields)s.")
            % {"fields": ", ".join(str(labels[f]) for f in twice)}
        )
    missing = [f for f in dict.fromkeys(needed) if f not in fields]
    if missing:
        raise ActionRefused(
            _("Choose a column for: %(fields)s.")
            % {"fields": ", ".join(str(labels[f]) for f in missing)}
        )
    return chosen


def user_import_preview(*, imp: UserImport) -> list[tuple[UserImportRow, RowPlan]]:
    """What each row would do if the import ran now (IMP-2). Writes nothing."""
    planner = Planner(user_import=imp)
    return [(row, planner.plan(row.values, row.row_number)) for row in imp.rows.all()]


@transaction.atomic
def user_import_start(*, imp: UserImport, actor: CrmUser) -> UserImport:
    from .tasks import run_user_import_task

    require_permission(actor, permissions.MANAGE_USERS)
    return import_queue(imp, run_user_import_task)


def user_import_resume(*, imp: UserImport, actor: CrmUser) -> bool:
    """Hand an unfinished import to a worker again, e.g. after a worker crashed. Rows done
    already stay done (IMP-7). False when it had finished meanwhile: nothing to do."""
    from .tasks import run_user_import_task

    require_permission(actor, permissions.MANAGE_USERS)
    return import_resume(imp, run_user_import_task)


def import_queue(imp, task):
    """Any import's start, inside the caller's transaction: mark it queued and have `task`
    (taking org id and import id) run it after the commit. Refused when started already."""
    imp = type(imp).objects.select_for_update().get(pk=imp.pk)
    _require_not_started(imp)
    imp.status = UserImport.Status.QUEUED
    imp.save(update_fields=["status"])
    _enqueue(imp, task)
    return imp


def import_resume(imp, task) -> bool:
    """Any import's resume (IMP-7): hand it to `task` again unless it never started (refused)
    or has finished (False)."""
    imp.refresh_from_db(fields=["status"])
    if imp.status == UserImport.Status.UPLOADED:
        raise ActionRefused(_("This import has not been started yet."))
    if imp.status == UserImport.Status.DONE:
        return False
    _enqueue(imp, task)
    return True


def _enqueue(imp, task) -> None:
    org_id, import_id = imp.org_id, imp.pk
    transaction.on_commit(lambda: task.delay(org_id, import_id))


def user_import_run(*, import_id: int) -> None:
    """The worker's part (IMP-6): batches of rows in file order, each row in a savepoint,
    progress after each batch."""
    imp = UserImport.objects.select_related("org", "created_by").get(pk=import_id)
    import_run(imp, _run_batch)


def import_run(imp, run_batch) -> None:
    """Any import's worker loop: `run_batch(imp)` processes the next batch of pending rows
    and says whether there was one. `imp` is a UserImport or a model with its fields."""
    imports = type(imp).objects.filter(pk=imp.pk)
    if imp.status == UserImport.Status.DONE:
        return
    imports.update(status=UserImport.Status.RUNNING, started_at=imp.started_at or timezone.now())
    while run_batch(imp):
        if settings.USER_IMPORT_BATCH_PAUSE_MS:  # spare a busy database between batches
            time.sleep(settings.USER_IMPORT_BATCH_PAUSE_MS / 1000)
    imports.update(
        status=UserImport.Status.DONE, finished_at=timezone.now(), processed_rows=imp.total_rows
    )


def _run_batch(imp: UserImport) -> bool:
    with transaction.atomic():
        organization_lock(
            imp.org
        )  # batches of two workers (a resumed run) take turns, in file order
        rows = list(
            imp.rows.select_for_update()
            .filter(outcome=UserImportRow.Outcome.PENDING)
            .order_by("row_number")[: _batch_size()]
        )
        if not rows:
            return False
        try:
            with transaction.atomic():  # the batch written in bulk, or not at all
                _write_batch(imp, Planner(user_import=imp, rows=rows), rows)
        except DatabaseError:  # a refusal we did not foresee: find its row, one by one
            planner = Planner(user_import=imp, rows=rows)
            for row in rows:
                _run_row(imp, planner, row)
        UserImport.objects.filter(pk=imp.pk).update(processed_rows=F("processed_rows") + len(rows))
    return True


def _plan(planner: Planner, row: UserImportRow) -> RowPlan:
    try:
        return planner.plan(row.values, row.row_number)
    except Exception as error:  # a row we cannot make sense of fails alone
        return RowPlan("error", _("Could not be read: %(error)s") % {"error": error})


def _write_batch(imp: UserImport, planner: Planner, rows: list[UserImportRow]) -> None:
    """Plan every row, then write the new users, the changes, the audit entries and each
    row's outcome with a few statements. They commit together: a row's outcome is never
    stored without its user, nor its user without its outcome (IMP-7)."""
    plans = [_plan(planner, row) for row in rows]
    creates = [plan for plan in plans if plan.action == "create"]
    members = CrmUser.objects.bulk_create([_new_member(imp, plan) for plan in creates])
    for plan, member in zip(creates, members, strict=True):
        plan.target = member
    for plan in plans:
        if plan.action == "update":
            _update_member(plan)
    AuditLogEntry.objects.bulk_create(
        [_audit_entry(imp, plan) for plan in plans if plan.action in ("create", "update")]
    )
    for row, plan in zip(rows, plans, strict=True):
        row.outcome, row.reason, row.crm_user = plan.outcome, plan.reason, plan.target
    UserImportRow.objects.bulk_update(rows, ["outcome", "reason", "crm_user"])


def _run_row(imp: UserImport, planner: Planner, row: UserImportRow) -> None:
    """The slow path: one row in its own savepoint, so only a refused row fails."""
    try:
        with transaction.atomic():
            plan = _plan(planner, row)
            if plan.action == "create":
                plan.target = CrmUser.objects.bulk_create([_new_member(imp, plan)])[0]
            elif plan.action == "update":
                _update_member(plan)
            if plan.action in ("create", "update"):
                _audit_entry(imp, plan).save()
            row.outcome, row.reason, row.crm_user = plan.outcome, plan.reason, plan.target
            row.save(update_fields=["outcome", "reason", "crm_user"])
    except DatabaseError as error:
        row.outcome = UserImportRow.Outcome.FAILED
        row.reason = _("Could not be saved: %(error)s") % {"error": error}
        row.save(update_fields=["outcome", "reason"])


def _new_member(imp: UserImport, plan: RowPlan) -> CrmUser:
    actor = imp.created_by
    return CrmUser(
        org=imp.org,
        status=CrmUser.Status.UNCONFIRMED,
        status_changed_at=timezone.now(),
        language=actor.language if actor else "en",
        **plan.values,
    )


def _update_member(plan: RowPlan) -> None:
    member = plan.target
    for key, value in plan.values.items():
        setattr(member, key, value)
    member.save(update_fields=list(plan.values))


def _audit_entry(imp: UserImport, plan: RowPlan) -> AuditLogEntry:
    if plan.action == "create":
        action, details = "user.imported", {"import": imp.pk}
    else:
        action, details = (
            "user.updated_by_import",
            {"import": imp.pk, "fields": sorted(plan.values)},
        )
    return audit_entry(
        org=imp.org, actor=imp.created_by, action=action, target=plan.target, details=details
    )


def user_import_counts(*, imp: UserImport) -> dict[str, int]:
    counts = dict(
        imp.rows.values_list("outcome").annotate(n=Count("pk")).values_list("outcome", "n")
    )
    return {outcome: counts.get(outcome, 0) for outcome in UserImportRow.Outcome.values}
