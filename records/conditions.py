"""Conditions as data (AUT-4): validate a condition set against an org's field registry,
evaluate it against a record in Python, and compile it to a Q over the Contact queryset.
Pure: no request, and no query while evaluating (the caller reads the record and the field
registry, records.modules.field_specs, beforehand).

A condition set is JSON:
    {"conditions": [{"field": "country", "op": "one_of", "value": ["JP", "FR"]}, ...],
     "pattern": "(1 and 2) or 3"}
An empty pattern ANDs every condition; no conditions is true.

One meaning, in Python and in SQL (tests/records/test_conditions_properties.py proves they
agree on random records and condition sets):
- A field's value is read as its type: a custom value that is missing, JSON null, or of
  another JSON type than the field's (a number in a text field) is *empty*; so are "" and []
  (the same for standard columns, which hold "" for blank).
- Text comparisons are case-insensitive (lower() on both sides). "is not" and "does not
  contain" are the negations of "is" and "contains": an empty value "is not" anything.
- Numbers compare as numbers (PostgreSQL numeric, Python Decimal of the JSON number), never
  as text; an empty value makes every numeric comparison false, "≠" included.
- Dates are ISO text and compare as such (C collation, so no locale reorders them); a date and
  time field is stored in UTC and a day condition on it ("on", "before", "after", "between",
  "in the last N days") covers the day in the org's time zone. An empty or malformed value
  makes every date comparison false: nothing is ever cast, so nothing can fail.
- Checkbox: "is true" only for a stored true; missing, null and false are "is false".
- A multi-select matches "any of" when it holds at least one of the values, "all of" when it
  holds every one.
A condition naming a field the registry no longer has (a deleted custom field), or an
operator or value that does not fit, is false — never an error; condition_set_clean refuses
such a set when it is saved, and condition_set_missing_fields says which fields went."""

import datetime
import functools
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DecimalField,
    F,
    Func,
    JSONField,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import DataContains, KeyTextTransform, KeyTransform
from django.db.models.functions import Coalesce, Collate, Lower
from django.db.models.lookups import Contains as LikeContains
from django.db.models.lookups import EndsWith as LikeEndsWith
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Regex,
)
from django.db.models.lookups import StartsWith as LikeStartsWith
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .fields import (
    CHECKBOX,
    COUNTRY,
    CURRENCY,
    DATE,
    DATETIME,
    EMAIL,
    MAX_TEXT,
    MULTISELECT,
    NUMBER,
    PHONE,
    PICKLIST,
    TEXT,
    FieldSpec,
    clean_value,
    shown_value,
)

OPERATORS: dict[str, str] = {
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
    "between": gettext_lazy("is between"),
    "one_of": gettext_lazy("is one of"),
    "any_of": gettext_lazy("has any of"),
    "all_of": gettext_lazy("has all of"),
    "before": gettext_lazy("is before"),
    "after": gettext_lazy("is after"),
    "on": gettext_lazy("is on"),
    "between_dates": gettext_lazy("is between the dates"),
    "last_days": gettext_lazy("is in the last N days"),
    "true": gettext_lazy("is true"),
    "false": gettext_lazy("is false"),
}

MAX_CONDITIONS = 50
MAX_NESTING = 32  # parentheses inside parentheses, in a pattern
MAX_PATTERN_LENGTH = 1000
MAX_CHOICES = 100  # values of one "is one of" / "any of" / "all of"
MAX_DAYS = 36_500

_TEXT_OPS = ["is", "is_not", "contains", "not_contains", "starts_with", "ends_with", "one_of"]
_EMPTY_OPS = ["empty", "not_empty"]
_OPS_BY_TYPE = {
    TEXT: _TEXT_OPS + _EMPTY_OPS,
    EMAIL: _TEXT_OPS + _EMPTY_OPS,
    PHONE: _TEXT_OPS + _EMPTY_OPS,
    PICKLIST: ["is", "is_not", "one_of"] + _EMPTY_OPS,
    COUNTRY: ["is", "is_not", "one_of"] + _EMPTY_OPS,
    MULTISELECT: ["any_of", "all_of"] + _EMPTY_OPS,
    NUMBER: ["eq", "ne", "lt", "le", "gt", "ge", "between"] + _EMPTY_OPS,
    CURRENCY: ["eq", "ne", "lt", "le", "gt", "ge", "between"] + _EMPTY_OPS,
    DATE: ["on", "before", "after", "between_dates", "last_days"] + _EMPTY_OPS,
    DATETIME: ["on", "before", "after", "between_dates", "last_days"] + _EMPTY_OPS,
    CHECKBOX: ["true", "false"] + _EMPTY_OPS,  # empty: not ticked
}
_NUMBER_OPS = {"eq", "ne", "lt", "le", "gt", "ge"}
_DATE_OPS = {"on", "before", "after"}
_KINDS = {
    "empty": "none",
    "not_empty": "none",
    "true": "none",
    "false": "none",
    "contains": "text",
    "not_contains": "text",
    "starts_with": "text",
    "ends_with": "text",
    "between": "number_pair",
    "between_dates": "date_pair",
    "last_days": "days",
    "one_of": "choices",
    "any_of": "choices",
    "all_of": "choices",
    **{op: "number" for op in _NUMBER_OPS},
    **{op: "date" for op in _DATE_OPS},
}
_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# How records.fields stores a date and time: UTC, seconds, microseconds when there are any.
_ISO_UTC = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?\+00:00$"
# The same shapes for Python, whose "$" would also match before a final newline.
_ISO_DATE_SHAPE, _ISO_UTC_SHAPE = re.compile(_ISO_DATE[1:-1]), re.compile(_ISO_UTC[1:-1])


def operators_for(spec: FieldSpec) -> list[str]:
    """The operator codes that fit the field's type, in the order a picker lists them."""
    return list(_OPS_BY_TYPE.get(spec.type, _EMPTY_OPS))


def value_kind(spec: FieldSpec, op: str) -> str:
    """What value the operator takes on this field: "none", "text", "number", "number_pair"
    ([low, high]), "date" ("YYYY-MM-DD"), "date_pair", "days" (a whole number), "choice" (one
    of spec.choices) or "choices" (a list: of spec.choices when the field has choices, else
    free values — country codes for a country)."""
    if op in ("is", "is_not"):
        return "choice" if spec.type == PICKLIST else "text"
    return _KINDS.get(op, "none")


# --- the criteria pattern -------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:([0-9]+)(?![^\s()])|(and|or)(?![^\s()])|([()])|([^\s()]+))", re.IGNORECASE
)


class _PatternError(Exception):
    pass


def _tokens(pattern: str) -> list[tuple[str, object, int]]:
    """[(kind, value, 1-based position)]; kind "n" (a number), "and", "or", "(", ")"."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise _PatternError(
            _("The pattern is longer than %(limit)s characters.") % {"limit": MAX_PATTERN_LENGTH}
        )
    tokens, position = [], 0
    while position < len(pattern):
        if not pattern[position:].strip():
            break
        match = _TOKEN.match(pattern, position)
        number, word, paren, other = match.groups()
        start = match.start(match.lastindex) + 1
        if other is not None:
            raise _PatternError(
                _("The pattern cannot contain “%(text)s” (at character %(position)s).")
                % {"text": other, "position": start}
            )
        if number is not None:
            tokens.append(("n", int(number) if len(number) < 10 else 10**9, start))
        elif word is not None:
            tokens.append((word.lower(), word, start))
        else:
            tokens.append((paren, paren, start))
        position = match.end()
    depth = 0
    for kind, _value, start in tokens:
        if kind == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise _PatternError(
                    _("The pattern nests parentheses more than %(limit)s deep.")
                    % {"limit": MAX_NESTING}
                )
        elif kind == ")":
            depth -= 1
            if depth < 0:
                raise _PatternError(
                    _("The pattern closes a parenthesis it did not open (at character %(p)s).")
                    % {"p": start}
                )
    if depth:
        raise _PatternError(_("The pattern opens a parenthesis it does not close."))
    return tokens


class _Parser:
    """Recursive descent over at most MAX_NESTING parentheses (checked before): "and" binds
    tighter than "or". A node is a condition number, ("and", [nodes]) or ("or", [nodes])."""

    def __init__(self, tokens, count):
        self.tokens, self.count, self.at = tokens, count, 0

    def parse(self):
        if not self.tokens:
            raise _PatternError(_("The pattern is empty."))
        node = self.either()
        if self.at < len(self.tokens):
            raise self.unexpected(_("“and” or “or”"))
        return node

    def either(self):
        nodes = [self.both()]
        while self.peek() == "or":
            self.at += 1
            nodes.append(self.both())
        return nodes[0] if len(nodes) == 1 else ("or", tuple(nodes))

    def both(self):
        nodes = [self.one()]
        while self.peek() == "and":
            self.at += 1
            nodes.append(self.one())
        return nodes[0] if len(nodes) == 1 else ("and", tuple(nodes))

    def one(self):
        kind = self.peek()
        if kind == "(":
            self.at += 1
            node = self.either()
            if self.peek() != ")":
                raise self.unexpected("“)”")
            self.at += 1
            return node
        if kind == "n":
            number = self.tokens[self.at][1]
            if not 1 <= number <= self.count:
                raise _PatternError(_no_such_condition(number, self.count))
            self.at += 1
            return number
        raise self.unexpected(_("a condition number or “(”"))

    def peek(self):
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def unexpected(self, wanted) -> _PatternError:
        if self.at >= len(self.tokens):
            return _PatternError(
                _("The pattern ends too early: %(wanted)s is missing.") % {"wanted": wanted}
            )
        _kind, text, position = self.tokens[self.at]
        return _PatternError(
            _("The pattern has “%(text)s” at character %(position)s where %(wanted)s belongs.")
            % {"text": text, "position": position, "wanted": wanted}
        )


def _no_such_condition(number: int, count: int) -> str:
    if count == 0:
        return _("The pattern names condition %(number)s, but there are no conditions.") % {
            "number": number if number < 10**9 else "…"
        }
    return ngettext(
        "The pattern names condition %(number)s, but there is only %(count)s condition.",
        "The pattern names condition %(number)s, but there are only %(count)s conditions.",
        count,
    ) % {"number": number if number < 10**9 else "…", "count": count}


@functools.lru_cache(maxsize=1024)
def _parse(pattern: str, count: int):
    """The pattern's tree, or _PatternError. "" ANDs every condition (None when none).
    Cached: a worker evaluates the same few rules over many records."""
    if not pattern.strip():
        return ("and", tuple(range(1, count + 1))) if count else None
    return _Parser(_tokens(pattern), count).parse()


def _numbers(node) -> set[int]:
    found, stack = set(), [node]
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            found.add(item)
        elif item is not None:
            stack.extend(item[1])
    return found


def pattern_check(pattern: str, count: int) -> str | None:
    """None when `pattern` combines conditions 1…count, else what is wrong (as you type)."""
    if not isinstance(pattern, str):
        return _("The pattern must be text such as “(1 and 2) or 3”.")
    try:
        tree = _parse(pattern, count)
    except _PatternError as error:
        return str(error)
    unused = sorted(set(range(1, count + 1)) - _numbers(tree))
    if unused:
        return ngettext(
            "Condition %(numbers)s is not used in the pattern.",
            "Conditions %(numbers)s are not used in the pattern.",
            len(unused),
        ) % {"numbers": ", ".join(map(str, unused))}
    return None


def _normal_pattern(pattern: str) -> str:
    """One spelling: "(1 AND 2)or 3" → "(1 and 2) or 3" (the pattern was checked)."""
    text = ""
    for kind, value, _position in _tokens(pattern):
        if kind == ")":
            text = text.rstrip() + ") "
        elif kind == "(":
            text += "("
        else:
            text += f"{value if kind == 'n' else kind} "
    return text.strip()


# --- validation -----------------------------------------------------------------------------------


def condition_set_clean(data, *, specs: list[FieldSpec]) -> dict:
    """The condition set, checked against the fields and normalised (values in their stored
    spelling, the pattern in one spelling); ValidationError listing each problem, its
    condition's number first."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError(_("The conditions must be a list of rows and a pattern."))
    rows = data.get("conditions") or []
    pattern = data.get("pattern") or ""
    if not isinstance(rows, list):
        raise ValidationError(_("The conditions must be a list of rows and a pattern."))
    if len(rows) > MAX_CONDITIONS:
        raise ValidationError(
            _("A rule can have at most %(limit)s conditions.") % {"limit": MAX_CONDITIONS}
        )
    by_key = {spec.key: spec for spec in specs}
    errors, cleaned = [], []
    for number, row in enumerate(rows, start=1):
        try:
            cleaned.append(_clean_row(row, by_key))
        except ValidationError as error:
            errors.extend(
                ValidationError(
                    _("Condition %(number)s: %(problem)s") % {"number": number, "problem": text},
                    code="condition",
                    params={"number": number},
                )
                for text in error.messages
            )
    problem = pattern_check(pattern, len(rows))
    if problem:
        errors.append(ValidationError(problem, code="pattern"))
    if errors:
        raise ValidationError(errors)
    return {"conditions": cleaned, "pattern": _normal_pattern(pattern)}


def _clean_row(row, by_key: dict[str, FieldSpec]) -> dict:
    if not isinstance(row, dict):
        raise ValidationError(_("give a field, an operator and a value."))
    key, op = row.get("field"), row.get("op")
    if not key:
        raise ValidationError(_("choose a field."))
    spec = by_key.get(key) if isinstance(key, str) else None
    if spec is None:
        raise ValidationError(
            _("the field “%(field)s” does not exist (any more).") % {"field": shown_value(key)}
        )
    if not isinstance(op, str) or op not in operators_for(spec):
        if not op:
            raise ValidationError(_("choose an operator for %(field)s.") % {"field": spec.label})
        raise ValidationError(
            _("“%(op)s” is not an operator for %(field)s.")
            % {"op": shown_value(op), "field": spec.label}
        )
    return {"field": key, "op": op, "value": _clean_condition_value(spec, op, row.get("value"))}


def _clean_condition_value(spec: FieldSpec, op: str, raw):
    kind = value_kind(spec, op)
    if kind == "none":
        return None
    if _blank(raw):
        raise ValidationError(_("give a value for %(field)s.") % {"field": spec.label})
    if kind == "text":
        return _clean_text(spec, raw)
    if kind == "choice":
        return _clean_choice(spec, raw)
    if kind == "choices":
        items = raw if isinstance(raw, list | tuple) else str(raw).split(";")
        items = [item for item in items if not _blank(item)]
        if not items:
            raise ValidationError(_("give a value for %(field)s.") % {"field": spec.label})
        if len(items) > MAX_CHOICES:
            raise ValidationError(_("give at most %(limit)s values.") % {"limit": MAX_CHOICES})
        clean = _clean_choice if spec.choices else _clean_text
        return list(dict.fromkeys(clean(spec, item) for item in items))
    if kind == "number":
        return _clean_number(spec, raw)
    if kind == "number_pair":
        low, high = (_clean_number(spec, item) for item in _pair(spec, raw))
        if Decimal(repr(low)) > Decimal(repr(high)):
            raise ValidationError(_("the first number must not be greater than the second."))
        return [low, high]
    if kind == "date":
        return _clean_date(spec, raw)
    if kind == "date_pair":
        start, end = (_clean_date(spec, item) for item in _pair(spec, raw))
        if start > end:
            raise ValidationError(_("the first date must not be after the second."))
        return [start, end]
    return _clean_days(raw)


def _blank(raw) -> bool:
    return raw is None or raw == [] or (isinstance(raw, str) and not raw.strip())


def _clean_text(spec: FieldSpec, raw) -> str:
    if not isinstance(raw, str):
        raise ValidationError(_("the value for %(field)s must be text.") % {"field": spec.label})
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise ValidationError(
            _("the value is longer than %(limit)s characters.") % {"limit": MAX_TEXT}
        )
    if "\x00" in text:
        raise ValidationError(_("the value contains characters that cannot be stored."))
    if spec.type == COUNTRY:
        if not re.fullmatch(r"[A-Za-z]{2}", text):
            raise ValidationError(
                _("%(field)s must be a two-letter country code such as FR or JP.")
                % {"field": spec.label}
            )
        return text.upper()
    return text


def _clean_choice(spec: FieldSpec, raw) -> str:
    if isinstance(raw, str):
        wanted = raw.strip().lower()
        for choice in spec.choices:
            if choice.lower() == wanted:
                return choice
    raise ValidationError(
        _("“%(value)s” is not one of the choices of %(field)s.")
        % {"value": shown_value(raw), "field": spec.label}
    )


def _clean_number(spec: FieldSpec, raw):
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise ValidationError(_("%(field)s must be a number.") % {"field": spec.label})
    return clean_value(FieldSpec(spec.key, spec.label, NUMBER), raw)


def _clean_date(spec: FieldSpec, raw) -> str:
    if not isinstance(raw, str):
        raise ValidationError(
            _("%(field)s must be a date like 2026-12-31.") % {"field": spec.label}
        )
    return clean_value(FieldSpec(spec.key, spec.label, DATE), raw)


def _pair(spec: FieldSpec, raw) -> list:
    if not isinstance(raw, list | tuple) or len(raw) != 2 or any(_blank(item) for item in raw):
        raise ValidationError(_("give two values for %(field)s.") % {"field": spec.label})
    return list(raw)


def _clean_days(raw) -> int:
    if isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) < 7:
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_DAYS:
        raise ValidationError(
            _("give a whole number of days between 1 and %(limit)s.") % {"limit": MAX_DAYS}
        )
    return raw


def condition_set_missing_fields(data, *, specs: list[FieldSpec]) -> list[str]:
    """The field keys the set names that the registry no longer has (a deleted custom field),
    each once, in the set's order."""
    keys = {spec.key for spec in specs}
    missing = []
    for row in _rows(data):
        key = row.get("field") if isinstance(row, dict) else None
        if isinstance(key, str) and key and key not in keys and key not in missing:
            missing.append(key)
    return missing


def _rows(data) -> list:
    rows = data.get("conditions") if isinstance(data, dict) else None
    return rows if isinstance(rows, list) else []


# --- reading a value as its field's type (the Python side) ----------------------------------------

_MISSING = object()


def contact_values(contact, specs: list[FieldSpec]) -> dict[str, object]:
    """The record's values by field key, as stored: standard fields from their columns,
    custom ones from the `custom` JSON (a missing key is None). No query."""
    custom = contact.custom if isinstance(contact.custom, dict) else {}
    values = {}
    for spec in specs:
        if spec.custom:
            values[spec.key] = custom.get(spec.key)
        else:
            values[spec.key] = getattr(contact, spec.key, None)
    return values


def _as_text(value) -> str:
    return value if isinstance(value, str) else ""


def _as_number(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    return Decimal(value)


def _as_date(value, spec: FieldSpec) -> str:
    """ISO text as stored (a date, or a UTC date and time), "" when empty or malformed."""
    if isinstance(value, datetime.datetime):
        value = (
            value.astimezone(datetime.UTC).isoformat()
            if spec.type == DATETIME
            else value.date().isoformat()
        )
    elif isinstance(value, datetime.date):
        value = value.isoformat()
    if not isinstance(value, str):
        return ""
    shape = _ISO_UTC_SHAPE if spec.type == DATETIME else _ISO_DATE_SHAPE
    return value if shape.fullmatch(value) else ""


def _as_list(value) -> list | None:
    return value if isinstance(value, list) else None


def _is_empty(spec: FieldSpec, value) -> bool:
    if spec.type in (NUMBER, CURRENCY):
        return _as_number(value) is None
    if spec.type in (DATE, DATETIME):
        return _as_date(value, spec) == ""
    if spec.type == MULTISELECT:
        return not _as_list(value)
    if spec.type == CHECKBOX:
        return value is not True
    return _as_text(value) == ""


# --- day boundaries in the org's time zone --------------------------------------------------------


def _zone(tz) -> datetime.tzinfo:
    """A zoneinfo, or its name; an unknown name counts as UTC rather than failing a worker."""
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ValueError, ZoneInfoNotFoundError):
            return datetime.UTC
    return tz or datetime.UTC


def _midnight(day: datetime.date, tz) -> str:
    """The UTC instant (as stored) at which `day` starts in the zone."""
    start = datetime.datetime.combine(day, datetime.time(0), tzinfo=tz)
    return start.astimezone(datetime.UTC).isoformat()


def _day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def _next_day(text: str) -> datetime.date:
    return _day(text) + datetime.timedelta(days=1)


def _date_range(spec: FieldSpec, op: str, value, tz, now: datetime.datetime):
    """(low, high, high_inclusive) bounds in the stored ISO text; None for an open end."""
    if spec.type == DATE:
        if op == "on":
            return value, value, True
        if op == "before":
            return None, value, False
        if op == "after":
            return _next_day(value).isoformat(), None, True
        if op == "between_dates":
            return value[0], value[1], True
        today = now.astimezone(tz).date()
        return (today - datetime.timedelta(days=value - 1)).isoformat(), today.isoformat(), True
    # a date and time: from the first day's midnight to (not including) the next midnight
    if op == "on":
        return _midnight(_day(value), tz), _midnight(_next_day(value), tz), False
    if op == "before":
        return None, _midnight(_day(value), tz), False
    if op == "after":
        return _midnight(_next_day(value), tz), None, True
    if op == "between_dates":
        return _midnight(_day(value[0]), tz), _midnight(_next_day(value[1]), tz), False
    today = now.astimezone(tz).date()
    since = today - datetime.timedelta(days=value - 1)
    return _midnight(since, tz), now.astimezone(datetime.UTC).isoformat(), True


# --- evaluation in Python -------------------------------------------------------------------------


def _condition_true(spec: FieldSpec, op: str, expected, value, tz, now) -> bool:
    if op not in _OPS_BY_TYPE.get(spec.type, _EMPTY_OPS):
        return False
    if op == "empty":
        return _is_empty(spec, value)
    if op == "not_empty":
        return not _is_empty(spec, value)
    if op in ("true", "false"):
        return (value is True) == (op == "true")
    if spec.type in (NUMBER, CURRENCY):
        number = _as_number(value)
        if number is None:
            return False
        if op == "between":
            low, high = (Decimal(repr(item)) for item in expected)
            return low <= number <= high
        return _compare(op, number, Decimal(repr(expected)))
    if spec.type in (DATE, DATETIME):
        text = _as_date(value, spec)
        if not text:
            return False
        low, high, high_inclusive = _date_range(spec, op, expected, tz, now)
        if low is not None and text < low:
            return False
        return high is None or text < high or (high_inclusive and text == high)
    if spec.type == MULTISELECT:
        chosen = _as_list(value) or []
        found = [item in chosen for item in expected]
        return any(found) if op == "any_of" else bool(chosen) and all(found)
    text = _as_text(value).lower()
    if op == "one_of":
        return text in {item.lower() for item in expected}
    wanted = expected.lower()
    if op in ("is", "is_not"):
        return (text == wanted) == (op == "is")
    if op in ("contains", "not_contains"):
        return (wanted in text) == (op == "contains")
    if op == "starts_with":
        return text.startswith(wanted)
    return text.endswith(wanted)


def _compare(op: str, left, right) -> bool:
    return {
        "eq": left == right,
        "ne": left != right,
        "lt": left < right,
        "le": left <= right,
        "gt": left > right,
        "ge": left >= right,
    }[op]


_BY_KEY: dict[int, tuple[list, dict]] = {}  # id(specs) -> (specs, by key): a worker's batch
# evaluates thousands of condition sets against the same list of specs


def _specs_by_key(specs) -> dict:
    cached = _BY_KEY.get(id(specs))
    if cached is not None and cached[0] is specs:
        return cached[1]
    by_key = {spec.key: spec for spec in specs}
    if len(_BY_KEY) > 64:
        _BY_KEY.clear()
    _BY_KEY[id(specs)] = (specs, by_key)  # holding `specs` keeps its id from being reused
    return by_key


def _row_results(data, values: dict, specs, tz, now) -> list[bool]:
    by_key = _specs_by_key(specs)
    results = []
    for row in _rows(data):
        try:
            spec = by_key[row["field"]]
            results.append(
                _condition_true(spec, row["op"], row.get("value"), values.get(spec.key), tz, now)
            )
        except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError):
            results.append(False)  # a deleted field, or data that was never cleaned
    return results


def _tree(data, count: int):
    pattern = data.get("pattern") if isinstance(data, dict) else ""
    try:
        return _parse(pattern if isinstance(pattern, str) else "", count), ""
    except _PatternError as error:
        return False, str(error)


def _evaluate_tree(node, results: list[bool]) -> bool:
    if node is None:
        return True
    if node is False:
        return False
    if isinstance(node, int):
        return results[node - 1]
    kind, nodes = node
    combine = all if kind == "and" else any
    return combine(_evaluate_tree(item, results) for item in nodes)


def condition_set_evaluate(data, values: dict, *, specs: list[FieldSpec], tz, now=None) -> bool:
    """Whether the record with these values (contact_values) meets the condition set now."""
    return condition_set_compile(data, specs=specs, tz=tz)(values, now or timezone.now())


# A compiled condition set: (values, now) -> bool.
Test = Callable[[dict, datetime.datetime], bool]
_ROW_ERRORS = (AttributeError, KeyError, TypeError, ValueError, ArithmeticError)
_NOT_TEXT = {NUMBER, CURRENCY, DATE, DATETIME, MULTISELECT, CHECKBOX}


def condition_set_compile(data, *, specs: list[FieldSpec], tz) -> Test:
    """The set as a function of (values, now) with condition_set_evaluate's meaning (which is
    this function's result, called once): each row's field, operator and value, and the
    pattern, read once — for a worker that tests one set against thousands of records."""
    tz = _zone(tz)
    by_key = {spec.key: spec for spec in specs}
    tests = [_row_test(row, by_key, tz) for row in _rows(data)]
    tree, _problem = _tree(data, len(tests))
    return _tree_test(tree, tests)


def _never(values: dict, now) -> bool:
    return False


def _always(values: dict, now) -> bool:
    return True


def _row_test(row, by_key: dict, tz) -> Test:
    """One row as a test; a row that can never hold (a deleted field, an operator that does
    not fit, data that was never cleaned) is `_never`, as _row_results makes it False."""
    try:
        spec = by_key[row["field"]]
        op, expected = row["op"], row.get("value")
        if op not in _OPS_BY_TYPE.get(spec.type, _EMPTY_OPS):
            return _never
    except _ROW_ERRORS:
        return _never
    if spec.type not in _NOT_TEXT and op in _TEXT_OPS:
        return _text_test(spec.key, op, expected)
    key = spec.key

    def test(values: dict, now) -> bool:
        try:
            return _condition_true(spec, op, expected, values.get(key), tz, now)
        except _ROW_ERRORS:
            return False

    return test


def _text_test(key: str, op: str, expected) -> Test:
    """_condition_true's text comparisons with the expected value lower-cased once."""
    try:
        wanted = {item.lower() for item in expected} if op == "one_of" else expected.lower()
    except _ROW_ERRORS:
        return _never  # _condition_true fails on it for every value: False
    compare = {
        "one_of": lambda text: text in wanted,
        "is": lambda text: text == wanted,
        "is_not": lambda text: text != wanted,
        "contains": lambda text: wanted in text,
        "not_contains": lambda text: wanted not in text,
        "starts_with": lambda text: text.startswith(wanted),
        "ends_with": lambda text: text.endswith(wanted),
    }[op]

    def test(values: dict, now) -> bool:
        value = values.get(key)
        return compare(value.lower() if isinstance(value, str) else "")

    return test


def _tree_test(node, tests: list[Test]) -> Test:
    """_evaluate_tree's meaning over compiled rows (which never raise, so stopping at the
    first deciding row changes nothing)."""
    if node is None:
        return _always
    if node is False:
        return _never
    if isinstance(node, int):
        return tests[node - 1]
    kind, nodes = node
    parts = [_tree_test(item, tests) for item in nodes]
    if kind == "and":
        return lambda values, now: all(part(values, now) for part in parts)
    return lambda values, now: any(part(values, now) for part in parts)


# --- the trace: why (not) -------------------------------------------------------------------------


@dataclass
class TraceRow:
    number: int
    field_label: str
    op_label: str
    expected: str
    actual: str
    result: bool
    field: str = ""
    problem: str = ""


@dataclass
class Trace:
    result: bool
    pattern: str
    rows: list[TraceRow] = field(default_factory=list)
    problem: str = ""

    def as_json(self) -> dict:
        return asdict(self)


def condition_set_explain(data, values: dict, *, specs: list[FieldSpec], tz, now=None) -> Trace:
    """Each condition with the record's actual value and its result, and the pattern's result,
    as display text in the current language (stored as is on a failed invitation)."""
    tz, now = _zone(tz), now or timezone.now()
    by_key = {spec.key: spec for spec in specs}
    results = _row_results(data, values, specs, tz, now)
    rows = []
    for number, (row, result) in enumerate(zip(_rows(data), results, strict=True), start=1):
        row = row if isinstance(row, dict) else {}
        key, op = str(row.get("field") or ""), row.get("op")
        spec = by_key.get(key)
        op_label = str(OPERATORS.get(op, op or "")) if isinstance(op, str) else ""
        problem = ""
        if spec is None:
            problem = _("The field “%(field)s” no longer exists.") % {"field": shown_value(key)}
        elif op not in operators_for(spec):
            problem = _("“%(op)s” is not an operator for %(field)s.") % {
                "op": shown_value(op),
                "field": spec.label,
            }
        rows.append(
            TraceRow(
                number=number,
                field_label=str(spec.label) if spec else key,
                op_label=op_label,
                expected=_shown_expected(spec, op, row.get("value")),
                actual=_shown_actual(spec, values.get(key), tz) if spec else _("(no such field)"),
                result=result,
                field=key,
                problem=problem,
            )
        )
    tree, problem = _tree(data, len(results))
    pattern = data.get("pattern") if isinstance(data, dict) else ""
    return Trace(
        result=_evaluate_tree(tree, results),
        pattern=pattern if isinstance(pattern, str) else "",
        rows=rows,
        problem=problem,
    )


def _shown_expected(spec: FieldSpec | None, op, value) -> str:
    if value is None or value == "":
        return ""
    if op == "last_days" and isinstance(value, int):
        return ngettext("%(count)s day", "%(count)s days", value) % {"count": value}
    if isinstance(value, list):
        separator = " – " if op in ("between", "between_dates") else ", "
        return separator.join(shown_value(item) for item in value)
    return shown_value(value)


def _shown_actual(spec: FieldSpec, value, tz) -> str:
    if _is_empty(spec, value) and spec.type != CHECKBOX:
        return _("(empty)")
    if spec.type == CHECKBOX:
        return _("Yes") if value is True else _("No")
    if spec.type == DATETIME:
        moment = datetime.datetime.fromisoformat(_as_date(value, spec)).astimezone(tz)
        return moment.strftime("%Y-%m-%d %H:%M")
    if spec.type == MULTISELECT:
        return ", ".join(shown_value(item) for item in value)
    return shown_value(value)


# --- the same meaning as a query ------------------------------------------------------------------

_NOTHING = Q(pk__in=[])
# True for every row; unlike Q(), its negation (~) is false for every row.
_EVERYTHING = Q(pk__isnull=False)


def condition_set_q(data, *, specs: list[FieldSpec], tz, now=None) -> Q:
    """The records (a Contact queryset's rows) meeting the condition set now, as one Q; the
    caller adds the org. Agrees with condition_set_evaluate on every record."""
    tz, now = _zone(tz), now or timezone.now()
    by_key = {spec.key: spec for spec in specs}
    parts = []
    for row in _rows(data):
        try:
            spec = by_key[row["field"]]
            parts.append(_condition_q(spec, row["op"], row.get("value"), tz, now))
        except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError):
            parts.append(_NOTHING)
    tree, _problem = _tree(data, len(parts))
    return _tree_q(tree, parts)


def _tree_q(node, parts: list[Q]) -> Q:
    if node is None:
        return _EVERYTHING
    if node is False:
        return _NOTHING
    if isinstance(node, int):
        return parts[node - 1]
    kind, nodes = node
    combined = _tree_q(nodes[0], parts)
    for item in nodes[1:]:
        if kind == "and":
            combined &= _tree_q(item, parts)
        else:
            combined |= _tree_q(item, parts)
    return combined


class _Column:
    """The SQL of one field's value read as its type; every expression here is either never
    NULL (text, dates as "" when empty) or guarded by an IS NOT NULL (numbers), so NOT over
    a condition means what it means in Python."""

    def __init__(self, spec: FieldSpec):
        self.spec = spec
        if spec.custom:
            self.json = KeyTransform(spec.key, "custom")
            self.kind = Coalesce(
                Func(self.json, function="jsonb_typeof", output_field=CharField()), Value("")
            )
            self.raw_text = KeyTextTransform(spec.key, "custom")

    def _custom_is(self, json_type: str) -> Q:
        return Q(Exact(self.kind, json_type))

    def text(self):
        if not self.spec.custom:
            return F(self.spec.key)
        return Case(
            When(self._custom_is("string"), then=self.raw_text),
            default=Value(""),
            output_field=TextField(),
        )

    def number(self):
        if not self.spec.custom:
            return F(self.spec.key)
        numeric = Func(
            self.raw_text, template="(%(expressions)s)::numeric", output_field=DecimalField()
        )
        return Case(
            When(self._custom_is("number"), then=numeric),
            default=Value(None, output_field=DecimalField()),
            output_field=DecimalField(),
        )

    def date(self):
        """ISO text in the C collation, "" when empty or malformed."""
        pattern = _ISO_UTC if self.spec.type == DATETIME else _ISO_DATE
        text = (
            self.text()
            if self.spec.custom
            else Func(
                F(self.spec.key), template="(%(expressions)s)::text", output_field=TextField()
            )
        )
        return Collate(
            Case(
                When(Regex(text, pattern), then=text), default=Value(""), output_field=TextField()
            ),
            "C",
        )

    def is_true(self) -> Q:
        if not self.spec.custom:
            return Q(**{self.spec.key: True})
        return self._custom_is("boolean") & Q(Exact(self.raw_text, "true"))

    def has_items(self) -> Q:
        empty_list = Func(
            self.json, template="(%(expressions)s = '[]'::jsonb)", output_field=BooleanField()
        )
        return self._custom_is("array") & ~Q(Coalesce(empty_list, Value(True)))


def _json(value) -> Value:
    return Value(value, output_field=JSONField())


def _condition_q(spec: FieldSpec, op: str, expected, tz, now) -> Q:
    if op not in operators_for(spec):
        return _NOTHING
    column = _Column(spec)
    if spec.type == CHECKBOX:
        is_true = column.is_true()
        return is_true if op in ("true", "not_empty") else ~is_true
    if spec.type == MULTISELECT:
        if op in ("empty", "not_empty"):
            return ~column.has_items() if op == "empty" else column.has_items()
        has = [Q(DataContains(column.json, _json([item]))) for item in expected]
        if op == "all_of":
            return column.has_items() & Q(DataContains(column.json, _json(list(expected))))
        any_q = has[0]
        for item in has[1:]:
            any_q |= item
        return column._custom_is("array") & any_q
    if spec.type in (NUMBER, CURRENCY):
        number = column.number()
        present = Q(IsNull(number, False))
        if op in ("empty", "not_empty"):
            return ~present if op == "empty" else present
        if op == "between":
            low, high = (Decimal(repr(item)) for item in expected)
            return present & Q(GreaterThanOrEqual(number, low)) & Q(LessThanOrEqual(number, high))
        value = Decimal(repr(expected))
        lookups = {
            "eq": Exact,
            "lt": LessThan,
            "le": LessThanOrEqual,
            "gt": GreaterThan,
            "ge": GreaterThanOrEqual,
        }
        if op == "ne":
            return present & ~Q(Exact(number, value))
        return present & Q(lookups[op](number, value))
    if spec.type in (DATE, DATETIME):
        text = column.date()
        present = ~Q(Exact(text, ""))
        if op in ("empty", "not_empty"):
            return ~present if op == "empty" else present
        low, high, high_inclusive = _date_range(spec, op, expected, tz, now)
        condition = present
        if low is not None:
            condition &= Q(GreaterThanOrEqual(text, low))
        if high is not None:
            condition &= Q((LessThanOrEqual if high_inclusive else LessThan)(text, high))
        return condition
    # text-like: text, email, phone, picklist, country
    text = column.text()
    if op in ("empty", "not_empty"):
        empty = Q(Exact(text, ""))
        return empty if op == "empty" else ~empty
    lowered = Lower(text)
    if op == "one_of":
        return Q(In(lowered, sorted({item.lower() for item in expected})))
    wanted = expected.lower()
    if op in ("is", "is_not"):
        same = Q(Exact(lowered, wanted))
        return same if op == "is" else ~same
    if op in ("contains", "not_contains"):
        found = Q(LikeContains(lowered, wanted))
        return found if op == "contains" else ~found
    if op == "starts_with":
        return Q(LikeStartsWith(lowered, wanted))
    return Q(LikeEndsWith(lowered, wanted))
