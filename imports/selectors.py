"""Reads of every spreadsheet import: what its rows would do, and what they did."""

from django.db.models import Count

from .kinds import ImportKind, RowPlan
from .models import ImportRow, ImportRun


def import_preview(*, kind: ImportKind, imp: ImportRun) -> list[tuple[ImportRow, RowPlan]]:
    """What each row would do if the import ran now (IMP-2). Writes nothing."""
    rows = list(imp.rows.all())
    planner = kind.planner(imp=imp, rows=rows)
    plans = []
    for row in rows:
        plan = planner.plan_row(row)
        planner.claim(plan, row.row_number)
        plans.append((row, plan))
    return plans


def import_counts(*, imp: ImportRun) -> dict[str, int]:
    """{outcome: number of rows}, every outcome present (IMP-6)."""
    counts = dict(
        imp.rows.values_list("outcome").annotate(n=Count("pk")).values_list("outcome", "n")
    )
    return {outcome: counts.get(outcome, 0) for outcome in ImportRow.Outcome.values}
