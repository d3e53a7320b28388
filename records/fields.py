"""Field types of CRM records as data (REC-1): name, type, choices. Custom fields, the API,
imports, auto-invite conditions and portal field visibility all read fields through this
module, so one value is valid or not in the same way everywhere.

clean_value() is the rule for every channel. The JSON API is stricter about shapes, since JSON
has types: clean_json_value() checks the JSON type and exact spelling first, and json_schema()
describes the same rule for the OpenAPI description from the same patterns (REC-4, X-6)."""

import datetime
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_portal.stored_messages import MESSAGES

TEXT, EMAIL, PHONE, PICKLIST, MULTISELECT = "text", "email", "phone", "picklist", "multiselect"
NUMBER, CURRENCY, DATE, DATETIME, CHECKBOX = "number", "currency", "date", "datetime", "checkbox"
COUNTRY = "country"  # standard fields only: an ISO 3166 two-letter code

FIELD_TYPES = [
    (TEXT, gettext_lazy("Text")),
    (EMAIL, gettext_lazy("Email")),
    (PHONE, gettext_lazy("Phone")),
    (PICKLIST, gettext_lazy("Picklist")),
    (MULTISELECT, gettext_lazy("Multi-select")),
    (NUMBER, gettext_lazy("Number")),
    (CURRENCY, gettext_lazy("Currency")),
    (DATE, gettext_lazy("Date")),
    (DATETIME, gettext_lazy("Date and time")),
    (CHECKBOX, gettext_lazy("Checkbox")),
]
TYPES_WITH_CHOICES = {PICKLIST, MULTISELECT}
TYPE_LABELS = dict(FIELD_TYPES) | {COUNTRY: gettext_lazy("Country code")}
MAX_TEXT = 1000
# Numbers are stored in JSON and shown in browsers: at most 15 significant digits survive a
# round trip through a float, so that is the bound (X-6: no 310-digit "number").
MAX_NUMBER = Decimal("999999999999999")
MAX_SIGNIFICANT_DIGITS = 15
# ISO 8601 (the slash form of Japanese spreadsheets is accepted for dates): no bare integers,
# no week or ordinal dates, no two-digit years.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?"
)
# PostgreSQL refuses a UTC offset beyond 15:59 (a 500 once, X-6), and a time on the first or
# the last day of the calendar may have no UTC equivalent, so neither is accepted.
MAX_UTC_OFFSET = datetime.timedelta(hours=15, minutes=59)
FIRST_DAY, LAST_DAY = datetime.date(1, 1, 2), datetime.date(9999, 12, 30)
# The patterns below are written in the common subset of Python's, ECMAScript's and Rust's
# regular expressions (ASCII classes, no \d or \s), so the OpenAPI description means what the
# server checks.
PHONE_PATTERN = r"\+?[0-9][0-9 ()./-]{1,29}[0-9()./-]"
_EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# A plain ASCII address (a strict subset of Django's EmailValidator, which the model runs too):
# no quoted local parts, IP literals or non-ASCII domains (write those in punycode).
EMAIL_PATTERN = rf"{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*@(?:{_EMAIL_LABEL}\.)+[A-Za-z]{{2,63}}"
EMAIL_MAX_LENGTH = 254
DATE_PATTERN = r"(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}"
# RFC 3339 as JSON sends it: seconds, at most microseconds, and Z or an offset PostgreSQL keeps.
DATETIME_PATTERN = (
    r"(?!0000|0001-01-01|9999-12-31)[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]{1,6})?(?:Z|[+-](?:0[0-9]|1[0-5]):[0-5][0-9])"
)
_PHONE = re.compile(PHONE_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)
_JSON_DATE = re.compile(DATE_PATTERN)
_JSON_DATETIME = re.compile(DATETIME_PATTERN)
# What str.strip() removes; spelled out so a pattern can name the same characters.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_SURROGATES = re.compile("[\ud800-\udfff]")
_TRUE = {"true", "1", "yes", "on", "y", "はい"}
_FALSE = {"false", "0", "no", "off", "n", "", "いいえ"}


@dataclass(frozen=True)
class FieldSpec:
    """A record field as data: what conditions, forms and the API need to know."""

    key: str
    label: str
    type: str
    choices: tuple[str, ...] = field(default=())
    required: bool = False
    custom: bool = False


def value_problem(code: str, **params) -> ValidationError:
    """A value's problem as a stored-message code with its parameters (X-1, X-8): shown in
    the current language now, and storable as data to be shown in another language later."""
    return ValidationError(MESSAGES[code], code=code, params=params)


def clean_value(spec: FieldSpec, raw):
    """The stored, JSON-safe value of `raw` for this field, or ValidationError with a
    message for the user. Empty input is None (or [] / False), refused when required."""
    if _is_empty(raw):
        if spec.required:
            raise value_problem("value.required", field=spec.label)
        return [] if spec.type == MULTISELECT else (False if spec.type == CHECKBOX else None)
    texts = raw if isinstance(raw, list | tuple) else [raw]
    if any(isinstance(t, str) and ("\x00" in t or _SURROGATES.search(t)) for t in texts):
        # PostgreSQL stores neither a NUL nor half a UTF-16 pair (a 500 once, X-6).
        raise value_problem("value.unstorable", field=spec.label)
    return _CLEANERS[spec.type](spec, raw)


def shown_value(raw, limit: int = 60) -> str:
    """A value as an error message quotes it: cut, so a megabyte of input makes no megabyte
    of answer (X-6)."""
    text = str(raw)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_empty(raw) -> bool:
    return raw is None or raw == "" or raw == [] or (isinstance(raw, str) and not raw.strip())


def _text(spec, raw):
    text = str(raw).strip()
    if len(text) > MAX_TEXT:
        raise value_problem("value.too_long", field=spec.label, limit=MAX_TEXT)
    return text


def _email(spec, raw):
    text = str(raw).strip().lower()
    if len(text) > EMAIL_MAX_LENGTH or not _EMAIL.fullmatch(text):
        raise value_problem("value.email_invalid", value=shown_value(raw))
    return text


def _phone(spec, raw):
    text = str(raw).strip()
    if not _PHONE.fullmatch(text):
        raise value_problem("value.phone_invalid", value=shown_value(raw))
    return text


def _country(spec, raw):
    text = str(raw).strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise value_problem("value.country_invalid", field=spec.label)
    return text


def _picklist(spec, raw):
    text = str(raw).strip()
    if text not in spec.choices:
        raise value_problem("value.not_a_choice", value=shown_value(raw), field=spec.label)
    return text


def _multiselect(spec, raw):
    values = raw if isinstance(raw, list | tuple) else str(raw).split(";")
    chosen = [str(v).strip() for v in values if str(v).strip()]
    unknown = [v for v in chosen if v not in spec.choices]
    if unknown:
        raise value_problem("value.not_a_choice", value=shown_value(unknown[0]), field=spec.label)
    return [c for c in spec.choices if c in chosen]  # the choices' order, each once


def _number(spec, raw):
    not_a_number = value_problem("value.not_a_number", field=spec.label)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise not_a_number
    if isinstance(raw, float):
        # Already a double (JSON, a spreadsheet cell): it keeps what it keeps, only its size
        # is bounded. Written digits are held to what a double can keep, below.
        if not math.isfinite(raw):
            raise not_a_number
        if abs(raw) > MAX_NUMBER:
            raise _number_out_of_range(spec)
        return int(raw) if raw.is_integer() else raw
    text = str(raw).strip().replace(",", "")
    if len(text) > 40:
        raise _number_out_of_range(spec)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise not_a_number from None
    if not number.is_finite():
        raise not_a_number
    if abs(number) > MAX_NUMBER:
        raise _number_out_of_range(spec)
    if number == number.to_integral_value():
        return int(number)
    if len(number.normalize().as_tuple().digits) > MAX_SIGNIFICANT_DIGITS:
        digits = MAX_SIGNIFICANT_DIGITS
        raise value_problem("value.too_many_digits", field=spec.label, digits=digits)
    return float(number)


def _number_out_of_range(spec):
    return value_problem("value.number_range", field=spec.label, limit=f"{MAX_NUMBER:,}")


def _currency(spec, raw):
    if isinstance(raw, str):
        raw = raw.strip().lstrip("$€¥£").strip()
    amount = _number(spec, raw)
    return float(Decimal(str(amount)).quantize(Decimal("0.01")))


def _date(spec, raw):
    if isinstance(raw, datetime.datetime):
        return raw.date().isoformat()
    if isinstance(raw, datetime.date):
        return raw.isoformat()
    text = raw.strip().replace("/", "-") if isinstance(raw, str) else ""
    parsed = _parse(parse_date, text) if _ISO_DATE.fullmatch(text) else None
    if parsed is None:
        raise value_problem("value.date_invalid", field=spec.label)
    return parsed.isoformat()


def _datetime(spec, raw):
    if isinstance(raw, datetime.datetime):
        value = raw
    else:
        text = raw.strip() if isinstance(raw, str) else ""
        value = _parse(parse_datetime, text) if _ISO_DATETIME.fullmatch(text) else None
    if value is None:
        raise value_problem("value.datetime_invalid", field=spec.label)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    check_datetime_range(spec.label, value)
    return value.astimezone(datetime.UTC).isoformat()


def check_datetime_range(label, value: datetime.datetime) -> None:
    """An aware date and time PostgreSQL and a UTC conversion can take, else ValidationError."""
    if abs(value.utcoffset()) > MAX_UTC_OFFSET:
        raise value_problem("value.offset_range", field=label)
    if not FIRST_DAY <= value.date() <= LAST_DAY:
        raise value_problem(
            "value.datetime_range",
            field=label,
            start=FIRST_DAY.isoformat(),
            end=LAST_DAY.isoformat(),
        )


def _checkbox(spec, raw):
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise value_problem("value.not_yes_no", field=spec.label)


def _parse(parser, text):
    try:
        return parser(text.strip())
    except ValueError:
        return None


_CLEANERS = {
    TEXT: _text,
    EMAIL: _email,
    PHONE: _phone,
    PICKLIST: _picklist,
    MULTISELECT: _multiselect,
    NUMBER: _number,
    CURRENCY: _currency,
    DATE: _date,
    DATETIME: _datetime,
    CHECKBOX: _checkbox,
    COUNTRY: _country,
}


# --- values in JSON (the API, REC-4) --------------------------------------------------------------
# A JSON value must have the JSON type of its field before clean_value() sees it: text is a
# string (never a number or a boolean turned into "False"), a number is a number, a checkbox a
# boolean, a multi-select a list of its choices. Emails, phones, countries, choices, dates and
# times are spelled exactly, without surrounding spaces. null (or "" for text types, [] for a
# multi-select) clears the field. json_schema() says the same to the OpenAPI description.

TEXT_TYPES = {TEXT, EMAIL, PHONE, PICKLIST, COUNTRY, DATE, DATETIME}
# The longest value of a custom field of each text type (standard fields: the model's column).
MAX_LENGTHS = {TEXT: MAX_TEXT, EMAIL: EMAIL_MAX_LENGTH, PHONE: 40, COUNTRY: 2}
_SPACE_CLASS = "".join(f"\\u{ord(c):04x}" for c in WHITESPACE)
_EXACT = {
    EMAIL: EMAIL_PATTERN,
    PHONE: PHONE_PATTERN,
    COUNTRY: "[A-Za-z]{2}",
    DATE: DATE_PATTERN,
    DATETIME: DATETIME_PATTERN,
}


def clean_json_value(spec: FieldSpec, raw, *, max_length: int | None = None):
    """clean_value() for a value from a JSON body, its JSON type and spelling checked first."""
    if (
        raw is None
        or (raw == "" and spec.type in TEXT_TYPES)
        or (raw == [] and spec.type == MULTISELECT)
    ):
        return clean_value(spec, None)
    problem = _json_shape_problem(spec, raw, max_length or MAX_LENGTHS.get(spec.type))
    if problem:
        raise ValidationError(problem)
    if spec.type == DATETIME:
        return clean_value(spec, parse_json_datetime(spec.label, raw))
    return clean_value(spec, raw)


def parse_json_datetime(label, text: str) -> datetime.datetime:
    """A date and time as JSON sends it (DATETIME_PATTERN, a valid day), or ValidationError."""
    value = _parse(parse_datetime, text) if _ISO_DATETIME.fullmatch(text) else None
    if value is not None and timezone.is_aware(value):
        check_datetime_range(label, value)  # the more helpful message first
    if value is None or not _JSON_DATETIME.fullmatch(text):
        raise ValidationError(_("Give a date and time like 2026-12-31T14:30:00Z."))
    return value


def _json_shape_problem(spec: FieldSpec, raw, max_length: int | None) -> str | None:
    label = {"field": spec.label}
    if spec.type in (NUMBER, CURRENCY):
        ok = isinstance(raw, int | float) and not isinstance(raw, bool)
        return None if ok else _("%(field)s must be a number.") % label
    if spec.type == CHECKBOX:
        return None if isinstance(raw, bool) else _("%(field)s must be true or false.") % label
    if spec.type == MULTISELECT:
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            return _("Give a list of text.")
        unknown = [v for v in raw if v not in spec.choices]
        return _not_a_choice(spec, unknown[0]) if unknown else None
    if not isinstance(raw, str):
        return _("%(field)s must be text.") % label if spec.type == TEXT else _misspelled(spec, raw)
    if max_length is not None and len(raw) > max_length:
        return _("%(field)s is longer than %(limit)s characters.") % {**label, "limit": max_length}
    if spec.type == PICKLIST and raw not in spec.choices:
        return _misspelled(spec, raw)
    if spec.type in (EMAIL, PHONE, COUNTRY, DATE) and not re.fullmatch(_EXACT[spec.type], raw):
        return _misspelled(spec, raw)
    return None


def _not_a_choice(spec: FieldSpec, value) -> str:
    return _("“%(value)s” is not one of the choices of %(field)s.") % {
        "value": shown_value(value),
        "field": spec.label,
    }


def _misspelled(spec: FieldSpec, raw) -> str:
    """The type's own message for a value that is not a well-spelled JSON string of it."""
    if spec.type == PICKLIST:
        return _not_a_choice(spec, raw)
    if spec.type == DATETIME:
        return _("Give a date and time like 2026-12-31T14:30:00Z.")
    if spec.type == EMAIL:
        return _("“%(value)s” is not a valid email address.") % {"value": shown_value(raw)}
    if spec.type == PHONE:
        return _("“%(value)s” is not a phone number.") % {"value": shown_value(raw)}
    if spec.type == COUNTRY:
        return _("%(field)s must be a two-letter country code such as FR or JP.") % {
            "field": spec.label
        }
    return _("%(field)s must be a date like 2026-12-31.") % {"field": spec.label}


def json_schema(spec: FieldSpec, *, max_length: int | None = None) -> dict:
    """The JSON Schema of what clean_json_value() accepts for this field in a request."""
    schema = _json_value_schema(spec, max_length or MAX_LENGTHS.get(spec.type))
    if spec.required:
        return schema
    if spec.type in TEXT_TYPES - {TEXT}:
        return {"anyOf": [schema, {"const": ""}, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def _json_value_schema(spec: FieldSpec, max_length: int | None) -> dict:
    if spec.type in (NUMBER, CURRENCY):
        limit = int(MAX_NUMBER)
        return {"type": "number", "minimum": -limit, "maximum": limit}
    if spec.type == CHECKBOX:
        return {"type": "boolean"}
    if spec.type == MULTISELECT:
        items = {"type": "string", "enum": list(spec.choices)}
        return {"type": "array", "items": items} | ({"minItems": 1} if spec.required else {})
    if spec.type == PICKLIST:
        return {"type": "string", "enum": list(spec.choices)}
    schema: dict = {"type": "string"}
    if max_length is not None:
        schema["maxLength"] = max_length
    if spec.type == TEXT:
        # No NUL; spaces around are removed, so a required text needs something else too.
        visible = f"[^\\x00{_SPACE_CLASS}]"
        inner = f"[^\\x00]*{visible}[^\\x00]*" if spec.required else "[^\\x00]*"
        return schema | {"pattern": f"^{inner}$"}
    schema["pattern"] = f"^(?:{_EXACT[spec.type]})$"
    if spec.type in (DATE, DATETIME):
        schema["format"] = "date" if spec.type == DATE else "date-time"
    return schema


def json_read_schema(spec: FieldSpec) -> dict:
    """The JSON Schema of the field's value in an answer: what clean_value() stored."""
    if spec.type in (NUMBER, CURRENCY):
        return {"type": ["number", "null"]}
    if spec.type == CHECKBOX:
        return {"type": "boolean"}
    if spec.type == MULTISELECT:
        return {"type": "array", "items": {"type": "string"}}
    if spec.type in (DATE, DATETIME):
        kind = {"type": "string", "format": "date" if spec.type == DATE else "date-time"}
        return {"anyOf": [kind, {"type": "null"}]}
    # Standard text fields are "" when blank, custom ones null.
    return {"type": ["string", "null"] if spec.custom else "string"}
