"""REC-1: every field type validates and normalises its value the same way for forms, the
API and imports."""

import jsonschema_rs
import pytest
from django.core.exceptions import ValidationError

from records.fields import FieldSpec, clean_json_value, clean_value, json_schema


def spec(type_, **kwargs):
    return FieldSpec(key="f", label="Field", type=type_, **kwargs)


@pytest.mark.parametrize(
    ("type_", "raw", "stored"),
    [
        ("text", "  Tokyo office ", "Tokyo office"),
        ("email", " Yuki@Example.JP ", "yuki@example.jp"),
        ("phone", "+81 3-1234-5678", "+81 3-1234-5678"),
        ("number", "1,200", 1200),
        ("number", "3.5", 3.5),
        ("number", 7, 7),
        ("number", "999,999,999,999,999", 999999999999999),
        ("number", -0.25, -0.25),
        ("currency", "$1,234.567", 1234.57),
        ("date", "2026/12/31", "2026-12-31"),
        ("datetime", "2026-12-31T14:30:00+09:00", "2026-12-31T05:30:00+00:00"),
        ("checkbox", "yes", True),
        ("checkbox", "はい", True),
        ("checkbox", "0", False),
    ],
)
def test_rec1_valid_values_are_normalised(type_, raw, stored):
    """REC-1, X-6: numbers within 15 digits, ISO 8601 dates (or the slash form) and times."""
    assert clean_value(spec(type_), raw) == stored


def test_rec1_picklist_and_multiselect_accept_only_their_choices():
    plans = ("Free", "Paid", "Enterprise")
    assert clean_value(spec("picklist", choices=plans), "Paid") == "Paid"
    assert clean_value(spec("multiselect", choices=plans), "Enterprise;Free;Free") == [
        "Free",
        "Enterprise",
    ]
    with pytest.raises(ValidationError, match="“Gold” is not one of the choices of Field."):
        clean_value(spec("picklist", choices=plans), "Gold")
    with pytest.raises(ValidationError, match="“Gold”"):
        clean_value(spec("multiselect", choices=plans), ["Paid", "Gold"])


@pytest.mark.parametrize(
    ("type_", "raw", "message"),
    [
        ("email", "yuki@", "is not a valid email address"),
        ("phone", "call me", "is not a phone number"),
        ("number", "twelve", "must be a number"),
        ("number", True, "must be a number"),
        ("number", "NaN", "must be a number"),
        ("currency", "¥abc", "must be a number"),
        ("date", "31st of June", "must be a date"),
        ("date", "2026-02-30", "must be a date"),
        ("date", 20261231, "must be a date"),
        ("date", "20261231", "must be a date"),
        ("date", "2026-W53-4", "must be a date"),
        ("date", ["2026-12-31"], "must be a date"),
        ("datetime", 1767225600, "must be a date and time"),
        ("datetime", "20261231T1430", "must be a date and time"),
        ("number", "1" * 310, "must be between -999,999,999,999,999 and 999,999,999,999,999"),
        ("number", 10**309, "must be between"),
        ("number", "1e309", "must be between"),
        ("number", "1e15", "must be between"),
        ("number", "-1000000000000000", "must be between"),
        ("number", "0.12345678901234567", "more than 15 significant digits"),
        ("number", [1], "must be a number"),
        ("number", {"a": 1}, "must be a number"),
        ("currency", "1" * 16, "must be between"),
        ("datetime", "tomorrow", "must be a date and time"),
        ("checkbox", "maybe", "must be yes or no"),
        ("text", "x" * 1001, "longer than 1000 characters"),
    ],
)
def test_rec1_wrong_values_are_refused_with_a_clear_message(type_, raw, message):
    with pytest.raises(ValidationError, match=message):
        clean_value(spec(type_), raw)


def test_rec1_empty_values_and_required_fields():
    assert clean_value(spec("text"), "  ") is None
    assert clean_value(spec("multiselect", choices=("a",)), "") == []
    assert clean_value(spec("checkbox"), None) is False
    with pytest.raises(ValidationError, match="Field is required."):
        clean_value(spec("email", required=True), "")


@pytest.mark.parametrize(
    ("type_", "raw", "message"),
    [
        ("text", "a\x00b", "contains characters that cannot be stored"),
        ("text", "\ud800", "contains characters that cannot be stored"),
        ("multiselect", ["a\x00"], "contains characters that cannot be stored"),
        ("email", '"yuki mori"@example.jp', "is not a valid email address"),
        ("email", "yuki@[127.0.0.1]", "is not a valid email address"),
        ("phone", "12 ", None),  # spaces around are removed first: "12" is too short
        ("datetime", "2026-12-31T14:30:00+16:00", "offset between -15:59 and \\+15:59"),
        ("datetime", "0001-01-01T00:00:00+05:00", "between 0001-01-02 and 9999-12-30"),
        ("number", float("inf"), "must be a number"),
        ("number", 1e15, "must be between"),
    ],
)
def test_x6_what_postgresql_or_utc_cannot_hold_is_refused(type_, raw, message):
    """X-6: NUL, half a surrogate pair, a UTC offset beyond ±15:59 or a time that has no UTC
    equivalent once reached the database (500). Email addresses are plain ASCII ones."""
    with pytest.raises(ValidationError, match=message or "is not a phone number"):
        clean_value(spec(type_, choices=("a",)), raw)


def test_x6_a_double_is_kept_as_the_double_it_is():
    """A JSON number or a spreadsheet cell is already a double: 0.1 + 0.2 is not refused for
    its 17 digits, while written digits beyond 15 still are."""
    assert clean_value(spec("number"), 0.1 + 0.2) == 0.30000000000000004
    assert clean_value(spec("number"), 12.0) == 12
    assert clean_value(spec("currency"), 0.1 + 0.2) == 0.3


@pytest.mark.parametrize(
    ("type_", "raw", "accepted"),
    [
        ("text", 12, False),
        ("text", False, False),
        ("text", "  ", True),
        ("email", "Yuki@Example.JP", True),
        ("email", " yuki@example.jp", False),
        ("phone", "+81 3-1234-5678", True),
        ("country", "jp", True),
        ("country", " JP", False),
        ("date", "2026-12-31", True),
        ("date", "2026/12/31", False),
        ("datetime", "2026-12-31T14:30:00.123456+09:00", True),
        ("datetime", "2026-12-31 14:30", False),
        ("datetime", "2026-12-31T14:30:00", False),
        ("number", 12.5, True),
        ("number", "12.5", False),
        ("number", True, False),
        ("checkbox", True, True),
        ("checkbox", "yes", False),
        ("multiselect", ["a"], True),
        ("multiselect", "a", False),
        ("picklist", "a", True),
        ("picklist", " a", False),
    ],
)
def test_rec4_json_values_and_their_schema_say_the_same(type_, raw, accepted):
    """The JSON API's rule (clean_json_value) and the schema the description shows for it
    (json_schema) accept the same values."""
    field = spec(type_, choices=("a", "b"))
    validator = jsonschema_rs.Draft202012Validator(json_schema(field), validate_formats=True)
    try:
        clean_json_value(field, raw)
        server = True
    except ValidationError:
        server = False
    assert (server, validator.is_valid(raw)) == (accepted, accepted)
