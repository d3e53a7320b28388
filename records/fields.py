"""Field types of CRM records as data (REC-1): name, type, choices. Custom fields, the API,
imports, auto-invite conditions and portal field visibility all read fields through this
module, so one value is valid or not in the same way everywhere."""

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,30}$")
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


def clean_value(spec: FieldSpec, raw):
    """The stored, JSON-safe value of `raw` for this field, or ValidationError with a
    message for the user. Empty input is None (or [] / False), refused when required."""
    if _is_empty(raw):
        if spec.required:
            raise ValidationError(_("%(field)s is required.") % {"field": spec.label})
        return [] if spec.type == MULTISELECT else (False if spec.type == CHECKBOX else None)
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
        raise ValidationError(
            _("%(field)s is longer than %(limit)s characters.")
            % {"field": spec.label, "limit": MAX_TEXT}
        )
    return text


def _email(spec, raw):
    text = str(raw).strip().lower()
    try:
        validate_email(text)
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is not a valid email address.") % {"value": shown_value(raw)}
        ) from None
    return text


def _phone(spec, raw):
    text = str(raw).strip()
    if not _PHONE.match(text):
        raise ValidationError(_("“%(value)s” is not a phone number.") % {"value": shown_value(raw)})
    return text


def _country(spec, raw):
    text = str(raw).strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise ValidationError(
            _("%(field)s must be a two-letter country code such as FR or JP.")
            % {"field": spec.label}
        )
    return text


def _picklist(spec, raw):
    text = str(raw).strip()
    if text not in spec.choices:
        raise ValidationError(
            _("“%(value)s” is not one of the choices of %(field)s.")
            % {"value": shown_value(raw), "field": spec.label}
        )
    return text


def _multiselect(spec, raw):
    values = raw if isinstance(raw, list | tuple) else str(raw).split(";")
    chosen = [str(v).strip() for v in values if str(v).strip()]
    unknown = [v for v in chosen if v not in spec.choices]
    if unknown:
        raise ValidationError(
            _("“%(value)s” is not one of the choices of %(field)s.")
            % {"value": shown_value(unknown[0]), "field": spec.label}
        )
    return [c for c in spec.choices if c in chosen]  # the choices' order, each once


def _number(spec, raw):
    not_a_number = ValidationError(_("%(field)s must be a number.") % {"field": spec.label})
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise not_a_number
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
        raise ValidationError(
            _("%(field)s has more than %(digits)s significant digits.")
            % {"field": spec.label, "digits": MAX_SIGNIFICANT_DIGITS}
        )
    return float(number)


def _number_out_of_range(spec):
    return ValidationError(
        _("%(field)s must be between -%(limit)s and %(limit)s.")
        % {"field": spec.label, "limit": f"{MAX_NUMBER:,}"}
    )


def _currency(spec, raw):
    text = str(raw).strip().lstrip("$€¥£").strip()
    amount = _number(spec, text)
    return float(Decimal(str(amount)).quantize(Decimal("0.01")))


def _date(spec, raw):
    if isinstance(raw, datetime.datetime):
        return raw.date().isoformat()
    if isinstance(raw, datetime.date):
        return raw.isoformat()
    text = raw.strip().replace("/", "-") if isinstance(raw, str) else ""
    parsed = _parse(parse_date, text) if _ISO_DATE.fullmatch(text) else None
    if parsed is None:
        raise ValidationError(
            _("%(field)s must be a date like 2026-12-31.") % {"field": spec.label}
        )
    return parsed.isoformat()


def _datetime(spec, raw):
    if isinstance(raw, datetime.datetime):
        value = raw
    else:
        text = raw.strip() if isinstance(raw, str) else ""
        value = _parse(parse_datetime, text) if _ISO_DATETIME.fullmatch(text) else None
    if value is None:
        raise ValidationError(
            _("%(field)s must be a date and time like 2026-12-31 14:30.") % {"field": spec.label}
        )
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.astimezone(datetime.UTC).isoformat()


def _checkbox(spec, raw):
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(_("%(field)s must be yes or no.") % {"field": spec.label})


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
