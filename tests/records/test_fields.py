"""REC-1: every field type validates and normalises its value the same way for forms, the
API and imports."""

import pytest
from django.core.exceptions import ValidationError

from records.fields import FieldSpec, clean_value


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
