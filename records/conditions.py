"""STAND-IN (autoinvite-ui branch) for records/conditions.py of the `conditions` branch — a
minimal subset of /work/wt/CONDITIONS_API.md so the settings page can be built and tested
before that branch is merged. On merge, take the conditions branch's file whole
(`git checkout --theirs records/conditions.py`)."""

import re

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .fields import (
    CHECKBOX,
    COUNTRY,
    CURRENCY,
    DATE,
    DATETIME,
    MULTISELECT,
    NUMBER,
    PICKLIST,
    FieldSpec,
)

OPERATORS = {
    "is": gettext_lazy("is"),
    "is_not": gettext_lazy("is not"),
    "contains": gettext_lazy("contains"),
    "not_contains": gettext_lazy("does not contain"),
    "starts_with": gettext_lazy("starts with"),
    "ends_with": gettext_lazy("ends with"),
    "empty": gettext_lazy("is empty"),
    "not_empty": gettext_lazy("is not empty"),
    "eq": gettext_lazy("="),
    "ne": gettext_lazy("≠"),
    "lt": gettext_lazy("<"),
    "le": gettext_lazy("≤"),
    "gt": gettext_lazy(">"),
    "ge": gettext_lazy("≥"),
    "between": gettext_lazy("between"),
    "one_of": gettext_lazy("is one of"),
    "any_of": gettext_lazy("has any of"),
    "all_of": gettext_lazy("has all of"),
    "before": gettext_lazy("before"),
    "after": gettext_lazy("after"),
    "on": gettext_lazy("on"),
    "between_dates": gettext_lazy("between"),
    "last_days": gettext_lazy("in the last N days"),
    "true": gettext_lazy("is true"),
    "false": gettext_lazy("is false"),
}
_TEXT_OPS = ["is", "is_not", "contains", "not_contains", "starts_with", "ends_with"]
_EMPTY_OPS = ["empty", "not_empty"]


def operators_for(spec: FieldSpec) -> list[str]:
    if spec.type in (NUMBER, CURRENCY):
        return ["eq", "ne", "lt", "le", "gt", "ge", "between", *_EMPTY_OPS]
    if spec.type in (DATE, DATETIME):
        return ["before", "after", "on", "between_dates", "last_days", *_EMPTY_OPS]
    if spec.type == CHECKBOX:
        return ["true", "false"]
    if spec.type == MULTISELECT:
        return ["any_of", "all_of", *_EMPTY_OPS]
    if spec.type in (PICKLIST, COUNTRY):
        return ["is", "is_not", "one_of", *_EMPTY_OPS]
    return [*_TEXT_OPS, "one_of", *_EMPTY_OPS]


def value_kind(spec: FieldSpec, op: str) -> str:
    if op in ("empty", "not_empty", "true", "false"):
        return "none"
    if op == "between":
        return "number_pair"
    if op == "between_dates":
        return "date_pair"
    if op == "last_days":
        return "days"
    if spec.type in (DATE, DATETIME):
        return "date"
    if spec.type in (NUMBER, CURRENCY):
        return "number"
    if spec.choices and op in ("one_of", "any_of", "all_of"):
        return "choices"
    if spec.choices:
        return "choice"
    return "text"


_TOKEN = re.compile(r"\s*(\(|\)|\d+|and\b|or\b|not\b)", re.IGNORECASE)


def pattern_check(pattern: str, count: int) -> str | None:
    """None when `pattern` parses and names only conditions 1..count, else a message."""
    text = (pattern or "").strip()
    if not text:
        return None
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            return _("The pattern cannot be read near “%(text)s”.") % {"text": text[position:][:20]}
        tokens.append(match.group(1).lower())
        position = match.end()
    depth, expect_operand = 0, True
    for token in tokens:
        if token.isdigit():
            if not expect_operand:
                return _("Put “and” or “or” between two conditions.")
            if not 1 <= int(token) <= count:
                return _("The pattern names condition %(n)s, which does not exist.") % {"n": token}
            expect_operand = False
        elif token == "(":
            depth += 1
            if depth > 32:
                return _("The pattern nests too deep.")
        elif token == ")":
            depth -= 1
            if depth < 0 or expect_operand:
                return _("The brackets of the pattern do not match.")
        elif token == "not":
            if not expect_operand:
                return _("Put “and” or “or” between two conditions.")
        else:
            if expect_operand:
                return _("“and” and “or” need a condition on each side.")
            expect_operand = True
    if depth != 0:
        return _("The brackets of the pattern do not match.")
    if expect_operand:
        return _("The pattern ends too early.")
    return None


def condition_set_clean(data, *, specs: list[FieldSpec]) -> dict:
    if not isinstance(data, dict):
        raise ValidationError(_("The conditions cannot be read."))
    by_key = {spec.key: spec for spec in specs}
    rows, errors = [], []
    for number, row in enumerate(data.get("conditions") or [], start=1):
        spec = by_key.get(row.get("field")) if isinstance(row, dict) else None
        if spec is None:
            errors.append(_("Condition %(n)s: choose a field.") % {"n": number})
            continue
        op = row.get("op")
        if op not in operators_for(spec):
            errors.append(_("Condition %(n)s: choose an operator.") % {"n": number})
            continue
        value = row.get("value")
        if value_kind(spec, op) != "none" and value in (None, "", []):
            errors.append(_("Condition %(n)s: enter a value.") % {"n": number})
            continue
        rows.append({"field": spec.key, "op": op, "value": value})
    pattern = str(data.get("pattern") or "").strip()
    problem = pattern_check(pattern, len(data.get("conditions") or []))
    if problem:
        errors.append(problem)
    if errors:
        raise ValidationError(errors)
    return {"conditions": rows, "pattern": pattern}


def condition_set_missing_fields(data, *, specs) -> list[str]:
    keys = {spec.key for spec in specs}
    return [row["field"] for row in data.get("conditions", []) if row.get("field") not in keys]


def condition_set_q(data, *, specs, tz, now=None) -> Q:
    """Stand-in: text `is`/`contains` on standard columns only, ANDed."""
    q = Q()
    for row in data.get("conditions", []):
        field, op, value = row["field"], row["op"], row.get("value")
        if op == "is":
            q &= Q(**{f"{field}__iexact": value})
        elif op == "contains":
            q &= Q(**{f"{field}__icontains": value})
        elif op == "not_empty":
            q &= ~Q(**{f"{field}__isnull": True}) & ~Q(**{field: ""})
    return q
