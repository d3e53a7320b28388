"""AUT-4: conditions as data — every operator of every field type, evaluated in Python and
compiled to a query on PostgreSQL, with the same answer; the criteria pattern; bad input; and
the pitfalls pretix's check-in rules met (null vs number, empty vs NULL, time zones)."""

import datetime
import json
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django_scopes import scopes_disabled

from records.conditions import (
    MAX_NESTING,
    OPERATORS,
    Trace,
    condition_set_clean,
    condition_set_evaluate,
    condition_set_explain,
    condition_set_missing_fields,
    condition_set_q,
    contact_values,
    operators_for,
    pattern_check,
    value_kind,
)
from records.fields import FIELD_TYPES, FieldSpec
from records.models import Contact
from records.modules import standard_specs
from tests.records.factories import ContactFactory

CUSTOM = [
    FieldSpec("note", "Note", "text", custom=True),
    FieldSpec("mail", "Work email", "email", custom=True),
    FieldSpec("tel", "Desk phone", "phone", custom=True),
    FieldSpec("tier", "Tier", "picklist", choices=("Gold", "Silver", "Bronze"), custom=True),
    FieldSpec("tags", "Tags", "multiselect", choices=("Red", "Green", "Blue"), custom=True),
    FieldSpec("score", "Score", "number", custom=True),
    FieldSpec("price", "Price", "currency", custom=True),
    FieldSpec("born", "Born", "date", custom=True),
    FieldSpec("seen", "Last seen", "datetime", custom=True),
    FieldSpec("vip", "VIP", "checkbox", custom=True),
]
SPECS = standard_specs("contacts") + CUSTOM
BY_KEY = {spec.key: spec for spec in SPECS}
UTC = ZoneInfo("UTC")
TOKYO = ZoneInfo("Asia/Tokyo")
# Sunday 6 December 2026, 20:00 UTC = Monday 7 December, 05:00 in Tokyo.
NOW = datetime.datetime(2026, 12, 6, 20, 0, tzinfo=datetime.UTC)
MISSING = "<missing>"  # the custom key is absent


def one(field, op, value=None, pattern=""):
    return {"conditions": [{"field": field, "op": op, "value": value}], "pattern": pattern}


def stored_contact(org, field, stored):
    """A contact holding `stored` as the field's value, written as the database keeps it."""
    spec = BY_KEY[field]
    custom = {"other": 1}
    standard = {}
    if spec.custom:
        if stored != MISSING:
            custom[field] = stored
    else:
        standard[field] = stored
    with scopes_disabled():
        return ContactFactory(org=org, custom=custom, **standard)


def both_answers(org, contact, data, tz=UTC, now=NOW):
    """(Python's answer, the query's answer) for the contact."""
    python = condition_set_evaluate(
        data, contact_values(contact, SPECS), specs=SPECS, tz=tz, now=now
    )
    q = condition_set_q(data, specs=SPECS, tz=tz, now=now)
    with scopes_disabled():
        in_query = Contact.objects.filter(org=org).filter(q).filter(pk=contact.pk).exists()
    return python, in_query


# (field, operator, condition value, stored value, expected)
CASES = [
    # text (custom): case-insensitive, "" / null / missing are all empty
    ("note", "is", "Hello", "hello", True),
    ("note", "is", "Hello", "hello!", False),
    ("note", "is", "Émile", "ÉMILE", True),
    ("note", "is_not", "Hello", "HELLO", False),
    ("note", "is_not", "Hello", None, True),
    ("note", "is_not", "Hello", MISSING, True),
    ("note", "contains", "ell", "HELLO", True),
    ("note", "contains", "東京", "東京都港区", True),
    ("note", "contains", "%", "100 percent", False),  # no LIKE wildcard
    ("note", "contains", "a_c", "abc", False),
    ("note", "contains", "a_c", "xa_cx", True),
    ("note", "not_contains", "x", "abc", True),
    ("note", "not_contains", "B", "abc", False),
    ("note", "not_contains", "x", MISSING, True),
    ("note", "starts_with", "he", "Hello", True),
    ("note", "starts_with", "lo", "Hello", False),
    ("note", "ends_with", "LO", "hello", True),
    ("note", "ends_with", "he", "hello", False),
    ("note", "one_of", ["x", "Hello"], "HELLO", True),
    ("note", "one_of", ["x"], None, False),
    ("note", "empty", None, "", True),
    ("note", "empty", None, None, True),
    ("note", "empty", None, MISSING, True),
    ("note", "empty", None, "x", False),
    ("note", "not_empty", None, "x", True),
    ("note", "not_empty", None, None, False),
    ("note", "is", "12", 12, False),  # a number held by a text field is not its text
    # email and phone (custom)
    ("mail", "ends_with", "@EXAMPLE.JP", "yuki@example.jp", True),
    ("mail", "is", "Yuki@Example.jp", "yuki@example.jp", True),
    ("mail", "is_not", "a@example.jp", "yuki@example.jp", True),
    ("mail", "contains", "example", "yuki@example.jp", True),
    ("mail", "not_contains", "example", "yuki@example.jp", False),
    ("mail", "starts_with", "yuki@", "yuki@example.jp", True),
    ("mail", "one_of", ["YUKI@example.jp"], "yuki@example.jp", True),
    ("mail", "empty", None, None, True),
    ("mail", "not_empty", None, "yuki@example.jp", True),
    ("tel", "starts_with", "+81", "+81 3-1234-5678", True),
    ("tel", "is", "+81 3-1234-5678", "+81 3-1234-5678", True),
    ("tel", "is_not", "+81 3-1234-5678", "+81 3-1234-5678", False),
    ("tel", "contains", "1234", "+81 3-1234-5678", True),
    ("tel", "not_contains", "999", "+81 3-1234-5678", True),
    ("tel", "ends_with", "5678", "+81 3-1234-5678", True),
    ("tel", "one_of", ["+1 555-0100"], "+81 3-1234-5678", False),
    ("tel", "empty", None, "", True),
    ("tel", "not_empty", None, "", False),
    # standard text columns ("" when blank)
    ("first_name", "is", "JANE", "Jane", True),
    ("first_name", "empty", None, "", True),
    ("first_name", "not_empty", None, "", False),
    ("email", "ends_with", "@EXAMPLE.ORG", "a@example.org", True),
    ("email", "empty", None, "", True),
    ("phone", "starts_with", "+81", "+81 3 1234", True),
    ("country", "is", "jp", "JP", True),
    ("country", "is", "JP", "jp", True),  # a lower-case code written by hand still matches
    ("country", "is_not", "JP", "", True),
    ("country", "is_not", "JP", "JP", False),
    ("country", "one_of", ["fr", "JP"], "JP", True),
    ("country", "one_of", ["fr"], "", False),
    ("country", "empty", None, "", True),
    ("country", "not_empty", None, "FR", True),
    ("subscription", "is", "PAID", "paid", True),
    ("subscription", "one_of", ["trial", "free"], "paid", False),
    ("language", "empty", None, "", True),
    ("language", "is", "ja", "ja", True),
    # picklist (custom)
    ("tier", "is", "gold", "Gold", True),
    ("tier", "is", "Gold", "Silver", False),
    ("tier", "is_not", "Gold", MISSING, True),
    ("tier", "is_not", "Gold", "Gold", False),
    ("tier", "one_of", ["Gold", "Silver"], "Bronze", False),
    ("tier", "one_of", ["Gold", "Silver"], "Silver", True),
    ("tier", "empty", None, None, True),
    ("tier", "not_empty", None, "Gold", True),
    # multi-select: any of / all of
    ("tags", "any_of", ["Red", "Blue"], ["Blue"], True),
    ("tags", "any_of", ["Red"], ["Green", "Blue"], False),
    ("tags", "any_of", ["Red"], [], False),
    ("tags", "any_of", ["Red"], MISSING, False),
    ("tags", "any_of", ["Red"], "Red", False),  # a text is not a list
    ("tags", "all_of", ["Red", "Blue"], ["Blue", "Red", "Green"], True),
    ("tags", "all_of", ["Red", "Blue"], ["Red"], False),
    ("tags", "all_of", ["Red"], None, False),
    ("tags", "empty", None, [], True),
    ("tags", "empty", None, None, True),
    ("tags", "empty", None, MISSING, True),
    ("tags", "empty", None, ["Red"], False),
    ("tags", "not_empty", None, ["Red"], True),
    ("tags", "not_empty", None, [], False),
    # numbers: compared as numbers, an empty value makes every comparison false
    ("score", "eq", 5, 5, True),
    ("score", "eq", 5, 5.0, True),
    ("score", "eq", "5", 5, True),
    ("score", "eq", 5, "5", False),  # a number held as text is not a number
    ("score", "gt", 9, 10, True),  # though "10" < "9" as text
    ("score", "lt", 9, 10, False),
    ("score", "lt", 0, -0.5, True),
    ("score", "le", 0.1, 0.1, True),
    ("score", "le", 0.1, 0.11, False),
    ("score", "ge", 100, 100, True),
    ("score", "gt", 100, 100, False),
    ("score", "ne", 5, 4, True),
    ("score", "ne", 5, 5, False),
    ("score", "ne", 5, None, False),  # null vs number
    ("score", "ne", 5, MISSING, False),
    ("score", "lt", 5, None, False),
    ("score", "gt", -1, MISSING, False),
    ("score", "ge", 0, "", False),
    ("score", "gt", 0, True, False),  # true is not 1
    ("score", "between", [1, 10], 10, True),
    ("score", "between", [1, 10], 1, True),
    ("score", "between", [1, 10], 10.01, False),
    ("score", "between", [1, 10], None, False),
    ("score", "empty", None, None, True),
    ("score", "empty", None, MISSING, True),
    ("score", "empty", None, 0, False),  # 0 is a value
    ("score", "not_empty", None, 0, True),
    ("price", "eq", "19.99", 19.99, True),
    ("price", "ne", 20, 19.99, True),
    ("price", "lt", 20, 19.99, True),
    ("price", "le", 19.99, 19.99, True),
    ("price", "gt", "1,000", 999999999999999, True),
    ("price", "ge", 20, 19.99, False),
    ("price", "between", ["0.5", "0.75"], 0.5, True),
    ("price", "empty", None, None, True),
    ("price", "not_empty", None, 0, True),
    # dates
    ("born", "on", "2020-02-29", "2020-02-29", True),
    ("born", "on", "2020/02/29", "2020-02-28", False),
    ("born", "before", "2020-03-01", "2020-02-29", True),
    ("born", "before", "2020-02-29", "2020-02-29", False),
    ("born", "after", "2020-02-29", "2020-03-01", True),
    ("born", "after", "2020-02-29", "2020-02-29", False),
    ("born", "between_dates", ["2020-01-01", "2020-12-31"], "2020-12-31", True),
    ("born", "between_dates", ["2020-01-01", "2020-12-31"], "2021-01-01", False),
    ("born", "before", "2020-01-01", None, False),
    ("born", "before", "2020-01-01", "", False),
    ("born", "before", "2020-01-01", "garbage", False),
    ("born", "after", "2020-01-01", 20210101, False),
    ("born", "last_days", 1, "2026-12-06", True),  # today, in UTC
    ("born", "last_days", 7, "2026-11-30", True),
    ("born", "last_days", 7, "2026-11-29", False),
    ("born", "last_days", 7, "2026-12-07", False),  # tomorrow is not in the last days
    ("born", "last_days", 7, None, False),
    ("born", "empty", None, "", True),
    ("born", "empty", None, MISSING, True),
    ("born", "not_empty", None, "2020-01-01", True),
    # dates and times (stored in UTC): days of the org's time zone, here UTC
    ("seen", "on", "2026-12-06", "2026-12-06T00:00:00+00:00", True),
    ("seen", "on", "2026-12-06", "2026-12-06T23:59:59.999999+00:00", True),
    ("seen", "on", "2026-12-06", "2026-12-05T23:59:59.999999+00:00", False),
    ("seen", "before", "2026-12-06", "2026-12-05T23:59:59.999999+00:00", True),
    ("seen", "before", "2026-12-06", "2026-12-06T00:00:00+00:00", False),
    ("seen", "after", "2026-12-05", "2026-12-06T00:00:00+00:00", True),
    ("seen", "after", "2026-12-05", "2026-12-05T23:00:00+00:00", False),
    ("seen", "between_dates", ["2026-12-01", "2026-12-05"], "2026-12-05T23:00:00+00:00", True),
    ("seen", "between_dates", ["2026-12-01", "2026-12-05"], "2026-12-06T00:00:00+00:00", False),
    ("seen", "last_days", 1, "2026-12-06T00:00:00+00:00", True),
    ("seen", "last_days", 1, "2026-12-06T20:00:00+00:00", True),  # now itself
    ("seen", "last_days", 1, "2026-12-06T20:00:00.000001+00:00", False),  # the future
    ("seen", "last_days", 2, "2026-12-04T23:59:59+00:00", False),
    ("seen", "on", "2026-12-06", "2026-12-06 10:00", False),  # not how a time is stored
    ("seen", "empty", None, MISSING, True),
    ("seen", "not_empty", None, "2026-12-06T00:00:00+00:00", True),
    # checkbox: only a stored true is true
    ("vip", "true", None, True, True),
    ("vip", "true", None, "true", False),
    ("vip", "true", None, 1, False),
    ("vip", "false", None, False, True),
    ("vip", "false", None, None, True),
    ("vip", "false", None, MISSING, True),
    ("vip", "false", None, True, False),
]


@pytest.mark.parametrize(("field", "op", "value", "stored", "expected"), CASES)
def test_aut4_each_operator_of_each_type_in_python_and_in_the_query(
    org_a, field, op, value, stored, expected
):
    """AUT-4: the Python evaluation and the compiled query give the expected answer."""
    data = condition_set_clean(one(field, op, value), specs=SPECS)
    contact = stored_contact(org_a, field, stored)
    assert both_answers(org_a, contact, data) == (expected, expected)


def test_aut4_the_table_covers_every_operator_of_every_field_type():
    """AUT-4: each operator × each type, the country code included, is in CASES (a
    checkbox's "empty" has its own test below)."""
    covered = {(BY_KEY[field].type, op) for field, op, *_rest in CASES}
    wanted = {
        (field_type, op)
        for field_type in [code for code, _label in FIELD_TYPES] + ["country"]
        for op in operators_for(FieldSpec("f", "F", field_type))
    }
    skipped = {("checkbox", "empty"), ("checkbox", "not_empty")}
    assert wanted - covered - skipped == set()


def test_aut4_operators_and_value_kinds_are_known():
    kinds = {"none", "text", "number", "number_pair", "date", "date_pair", "days", "choice"}
    kinds.add("choices")
    for field_type, _label in [*FIELD_TYPES, ("country", "")]:
        spec = FieldSpec("f", "F", field_type, choices=("a",))
        for op in operators_for(spec):
            assert op in OPERATORS
            assert value_kind(spec, op) in kinds
    assert operators_for(FieldSpec("f", "F", "multiselect")) == [
        "any_of",
        "all_of",
        "empty",
        "not_empty",
    ]
    assert value_kind(FieldSpec("f", "F", "picklist", choices=("a",)), "is") == "choice"
    assert value_kind(FieldSpec("f", "F", "number"), "between") == "number_pair"
    assert value_kind(FieldSpec("f", "F", "date"), "last_days") == "days"


def test_aut4_checkbox_empty_means_not_true(org_a):
    for stored, empty in ((True, False), (False, True), (None, True), (MISSING, True)):
        contact = stored_contact(org_a, "vip", stored)
        data = condition_set_clean(one("vip", "empty"), specs=SPECS)
        assert both_answers(org_a, contact, data) == (empty, empty)


# --- time zones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "expected"),
    [
        (TOKYO, "2026-12-06", True),  # 01:30 on the 6th in Tokyo
        (UTC, "2026-12-06", False),  # 16:30 on the 5th in UTC
        (TOKYO, "2026-12-05", False),
        (UTC, "2026-12-05", True),
    ],
)
def test_aut4_a_day_is_the_org_time_zone_day(org_a, tz, day, expected):
    """AUT-4 (pretix's time-zone pitfall): 2026-12-05 16:30 UTC is already the 6th in Tokyo."""
    contact = stored_contact(org_a, "seen", "2026-12-05T16:30:00+00:00")
    data = condition_set_clean(one("seen", "on", day), specs=SPECS)
    assert both_answers(org_a, contact, data, tz=tz) == (expected, expected)


def test_aut4_before_and_after_cut_at_the_org_midnight(org_a):
    # 15:00 UTC on the 5th is midnight of the 6th in Tokyo.
    at_midnight = stored_contact(org_a, "seen", "2026-12-05T15:00:00+00:00")
    just_before = stored_contact(org_a, "seen", "2026-12-05T14:59:59.999999+00:00")
    before = condition_set_clean(one("seen", "before", "2026-12-06"), specs=SPECS)
    after = condition_set_clean(one("seen", "after", "2026-12-05"), specs=SPECS)
    assert both_answers(org_a, at_midnight, before, tz=TOKYO) == (False, False)
    assert both_answers(org_a, just_before, before, tz=TOKYO) == (True, True)
    assert both_answers(org_a, at_midnight, after, tz=TOKYO) == (True, True)
    assert both_answers(org_a, just_before, after, tz=TOKYO) == (False, False)


def test_aut4_in_the_last_days_counts_days_of_the_org_time_zone(org_a):
    """AUT-4: at 00:30 on 7 December in Tokyo (15:30 UTC on the 6th) "today" is the 7th in
    Tokyo and the 6th in UTC."""
    now = datetime.datetime(2026, 12, 6, 15, 30, tzinfo=datetime.UTC)
    today_in_tokyo = stored_contact(org_a, "born", "2026-12-07")
    data = condition_set_clean(one("born", "last_days", 1), specs=SPECS)
    assert both_answers(org_a, today_in_tokyo, data, tz=TOKYO, now=now) == (True, True)
    assert both_answers(org_a, today_in_tokyo, data, tz=UTC, now=now) == (False, False)
    # 40 minutes before now, but the day before in Tokyo: outside "the last 1 day" there
    late = stored_contact(org_a, "seen", "2026-12-06T14:50:00+00:00")  # 23:50 on the 6th JST
    seen = condition_set_clean(one("seen", "last_days", 1), specs=SPECS)
    assert both_answers(org_a, late, seen, tz=TOKYO, now=now) == (False, False)
    assert both_answers(org_a, late, seen, tz=UTC, now=now) == (True, True)


def test_aut4_a_short_day_of_daylight_saving_time(org_a):
    """AUT-4: 8 March 2026 has 23 hours in New York; 23:30 that evening is still that day."""
    contact = stored_contact(org_a, "seen", "2026-03-09T03:30:00+00:00")  # 23:30 EDT
    data = condition_set_clean(one("seen", "on", "2026-03-08"), specs=SPECS)
    assert both_answers(org_a, contact, data, tz=ZoneInfo("America/New_York")) == (True, True)


def test_aut4_time_zone_given_by_name(org_a):
    contact = stored_contact(org_a, "seen", "2026-12-05T16:30:00+00:00")
    data = condition_set_clean(one("seen", "on", "2026-12-06"), specs=SPECS)
    assert both_answers(org_a, contact, data, tz="Asia/Tokyo") == (True, True)
    assert both_answers(org_a, contact, data, tz="Mars/Olympus_Mons") == (False, False)  # UTC


# --- the criteria pattern ---------------------------------------------------------------------


def truth_set(results: list[bool], pattern: str) -> dict:
    """A condition set whose condition n is true exactly when results[n - 1] is."""
    rows = [
        {"field": "country", "op": "is" if result else "is_not", "value": "JP"}
        for result in results
    ]
    return {"conditions": rows, "pattern": pattern}


@pytest.mark.parametrize(
    ("results", "pattern", "expected"),
    [
        ([True, False, True], "(1 and 2) or 3", True),
        ([True, False, False], "(1 and 2) or 3", False),
        ([False, True, True], "1 and (2 or 3)", False),
        ([True, False, True], "1 and 2 or 3", True),  # "and" binds tighter
        ([False, True, True], "1 or 2 and 3", True),
        ([False, True, False], "1 or 2 and 3", False),
        ([True, True, False], "", False),  # no pattern: all of them
        ([True, True, True], "", True),
        ([True, False], "1 OR 2", True),
        ([False, False], "((1)) or (((2)))", False),
        ([], "", True),  # no conditions: true
    ],
)
def test_aut4_pattern_combines_the_conditions(org_a, results, pattern, expected):
    contact = stored_contact(org_a, "country", "JP")
    data = condition_set_clean(truth_set(results, pattern), specs=SPECS)
    assert both_answers(org_a, contact, data) == (expected, expected)


@pytest.mark.parametrize(
    ("pattern", "count", "message"),
    [
        ("(1 and 2", 2, "opens a parenthesis it does not close"),
        ("1 and 2)", 2, "closes a parenthesis it did not open (at character 8)"),
        (")1 and 2(", 2, "closes a parenthesis it did not open (at character 1)"),
        ("1 and 3", 2, "names condition 3, but there are only 2 conditions"),
        ("0 or 1", 1, "names condition 0, but there is only 1 condition"),
        ("1 and 99999999999999999999", 1, "names condition …"),
        ("1", 0, "names condition 1, but there are no conditions"),
        ("1 and", 2, "ends too early"),
        ("1 2", 2, "has “2” at character 3 where “and” or “or” belongs"),
        ("1 and or 2", 2, "has “or” at character 7"),
        ("()", 1, "has “)” at character 2"),
        ("1 && 2", 2, "cannot contain “&&”"),
        ("1 and not 2", 2, "cannot contain “not” (at character 7)"),
        ("1 andor 2", 2, "cannot contain “andor”"),
        ("1and 2", 2, "cannot contain “1and”"),
        ("1 and 2", 3, "Condition 3 is not used in the pattern."),
        ("1", 3, "Conditions 2, 3 are not used in the pattern."),
        ("   ", 0, None),
        ("(1 and 2) or 3", 3, None),
        ("(" * MAX_NESTING + "1" + ")" * MAX_NESTING, 1, None),
        ("(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1), 1, "more than 32 deep"),
        ("(" * 400 + "1" + ")" * 400, 1, "more than 32 deep"),
        ("(" * 1000 + "1" + ")" * 1000, 1, "longer than 1000 characters"),
        ("1 or " * 300 + "1", 1, "longer than 1000 characters"),
    ],
)
def test_aut4_pattern_errors_say_what_is_wrong(pattern, count, message):
    problem = pattern_check(pattern, count)
    if message is None:
        assert problem is None
    else:
        assert message in problem


def test_aut4_a_thousand_deep_pattern_is_refused_without_recursion_error(org_a):
    """AUT-4 bad input: 1,000 nested parentheses — a clear error on save; a stored one (never
    saved through clean) matches nothing rather than crashing the worker."""
    deep = "(" * 1000 + "1" + ")" * 1000
    data = {"conditions": [{"field": "country", "op": "is", "value": "JP"}], "pattern": deep}
    with pytest.raises(ValidationError) as caught:
        condition_set_clean(data, specs=SPECS)
    assert "longer than 1000 characters" in caught.value.messages[0]
    contact = stored_contact(org_a, "country", "JP")
    assert both_answers(org_a, contact, data) == (False, False)
    compact = {**data, "pattern": "(" * 450 + "1" + ")" * 450}
    assert both_answers(org_a, contact, compact) == (False, False)
    trace = condition_set_explain(compact, {"country": "JP"}, specs=SPECS, tz=UTC)
    assert trace.result is False and "32" in trace.problem


def test_aut4_pattern_is_stored_in_one_spelling():
    data = truth_set([True, True, True], " ( 1 AND 2)Or  3 ")
    assert condition_set_clean(data, specs=SPECS)["pattern"] == "(1 and 2) or 3"


# --- validation: every problem names its condition ------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"field": "gone", "op": "is", "value": "x"}, "the field “gone” does not exist"),
        ({"field": "", "op": "is", "value": "x"}, "choose a field."),
        ({"field": "country", "op": "", "value": "x"}, "choose an operator for Country."),
        ({"field": "country", "op": "gt", "value": "x"}, "“gt” is not an operator for Country."),
        ({"field": "tags", "op": "is", "value": "Red"}, "“is” is not an operator for Tags."),
        ({"field": "score", "op": "contains", "value": "1"}, "not an operator for Score"),
        ({"field": "vip", "op": "eq", "value": 1}, "not an operator for VIP"),
        ({"field": "note", "op": "is", "value": ""}, "give a value for Note."),
        ({"field": "note", "op": "is", "value": None}, "give a value for Note."),
        ({"field": "note", "op": "is", "value": 12}, "the value for Note must be text."),
        ({"field": "note", "op": "is", "value": ["a"]}, "the value for Note must be text."),
        ({"field": "note", "op": "is", "value": "x" * 1001}, "longer than 1000 characters"),
        ({"field": "score", "op": "gt", "value": "abc"}, "Score must be a number."),
        ({"field": "score", "op": "gt", "value": True}, "Score must be a number."),
        ({"field": "score", "op": "gt", "value": {"n": 1}}, "Score must be a number."),
        ({"field": "score", "op": "gt", "value": "1e400"}, "Score must be between"),
        ({"field": "score", "op": "gt", "value": "NaN"}, "Score must be a number."),
        ({"field": "score", "op": "between", "value": [1]}, "give two values for Score."),
        ({"field": "score", "op": "between", "value": 5}, "give two values for Score."),
        ({"field": "score", "op": "between", "value": [5, 1]}, "first number must not be"),
        ({"field": "born", "op": "on", "value": "2026-02-30"}, "Born must be a date like"),
        ({"field": "born", "op": "on", "value": "yesterday"}, "Born must be a date like"),
        ({"field": "born", "op": "on", "value": 20260101}, "Born must be a date like"),
        (
            {"field": "born", "op": "between_dates", "value": ["2026-02-01", "2026-01-01"]},
            "first date",
        ),
        ({"field": "born", "op": "last_days", "value": 0}, "whole number of days between 1"),
        ({"field": "born", "op": "last_days", "value": "7.5"}, "whole number of days"),
        ({"field": "born", "op": "last_days", "value": 10**9}, "whole number of days"),
        ({"field": "tier", "op": "is", "value": "Platinum"}, "“Platinum” is not one of the"),
        ({"field": "tags", "op": "any_of", "value": ["Red", "Pink"]}, "“Pink” is not one of"),
        ({"field": "tags", "op": "all_of", "value": []}, "give a value for Tags."),
        ({"field": "country", "op": "is", "value": "JPN"}, "two-letter country code"),
        ({"field": "country", "op": "one_of", "value": ["JP", "1"]}, "two-letter country code"),
        ({"field": "note", "op": "one_of", "value": ["x"] * 101}, "at most 100 values"),
        ("country is JP", "give a field, an operator and a value."),
    ],
)
def test_aut4_each_bad_row_is_named_with_what_is_wrong(row, message):
    good = {"field": "country", "op": "is", "value": "JP"}
    data = {"conditions": [good, row], "pattern": "1 or 2"}
    with pytest.raises(ValidationError) as caught:
        condition_set_clean(data, specs=SPECS)
    assert len(caught.value.messages) == 1
    assert caught.value.messages[0].startswith("Condition 2: ")
    assert message in caught.value.messages[0]


def test_aut4_every_problem_is_listed_at_once():
    data = {
        "conditions": [
            {"field": "gone", "op": "is", "value": "x"},
            {"field": "country", "op": "is", "value": "JP"},
            {"field": "score", "op": "gt", "value": "many"},
        ],
        "pattern": "1 and 4",
    }
    with pytest.raises(ValidationError) as caught:
        condition_set_clean(data, specs=SPECS)
    messages = caught.value.messages
    assert [m.split(":")[0] for m in messages[:2]] == ["Condition 1", "Condition 3"]
    assert "names condition 4" in messages[2]


def test_aut4_errors_are_in_the_users_language():
    data = {"conditions": [{"field": "score", "op": "gt", "value": "abc"}], "pattern": "1 and 2"}
    with translation.override("ja"), pytest.raises(ValidationError) as caught:
        condition_set_clean(data, specs=SPECS)
    assert caught.value.messages[0].startswith("条件 1：")
    assert "条件 2" in caught.value.messages[1]


@pytest.mark.parametrize("data", [None, {}, {"conditions": [], "pattern": ""}])
def test_aut4_no_conditions_is_valid_and_true(data):
    assert condition_set_clean(data, specs=SPECS) == {"conditions": [], "pattern": ""}


@pytest.mark.parametrize(
    "data",
    [
        "1 and 2",
        [],
        {"conditions": "country is JP"},
        {"conditions": [{"field": "country", "op": "is", "value": "JP"}] * 51},
        {"conditions": [], "pattern": 12},
    ],
)
def test_aut4_a_malformed_set_is_refused(data):
    with pytest.raises(ValidationError):
        condition_set_clean(data, specs=SPECS)


def test_aut4_values_are_stored_normalised():
    data = {
        "conditions": [
            {"field": "country", "op": "one_of", "value": ["jp", " FR ", "JP"]},
            {"field": "tier", "op": "is", "value": " gold "},
            {"field": "tags", "op": "all_of", "value": "blue;red"},
            {"field": "score", "op": "between", "value": ["1,000", 2000.5]},
            {"field": "born", "op": "between_dates", "value": ["2026/01/01", "2026-01-31"]},
            {"field": "seen", "op": "last_days", "value": "30"},
            {"field": "vip", "op": "true", "value": "ignored"},
        ],
        "pattern": "",
    }
    values = [row["value"] for row in condition_set_clean(data, specs=SPECS)["conditions"]]
    assert values == [
        ["JP", "FR"],
        "Gold",
        ["Blue", "Red"],
        [1000, 2000.5],
        ["2026-01-01", "2026-01-31"],
        30,
        None,
    ]


# --- a deleted field ----------------------------------------------------------------------------


def test_aut4_a_condition_on_a_deleted_field_is_invalid_but_never_crashes(org_a):
    data = {
        "conditions": [
            {"field": "country", "op": "is", "value": "JP"},
            {"field": "old_score", "op": "gt", "value": 5},
            {"field": "old_score", "op": "empty", "value": None},
        ],
        "pattern": "1 or (2 and 3)",
    }
    assert condition_set_missing_fields(data, specs=SPECS) == ["old_score"]
    with pytest.raises(ValidationError) as caught:
        condition_set_clean(data, specs=SPECS)
    assert caught.value.messages[0] == (
        "Condition 2: the field “old_score” does not exist (any more)."
    )
    japanese = stored_contact(org_a, "country", "JP")
    french = stored_contact(org_a, "country", "FR")
    assert both_answers(org_a, japanese, data) == (True, True)  # its condition is false
    assert both_answers(org_a, french, data) == (False, False)
    trace = condition_set_explain(data, {"country": "FR"}, specs=SPECS, tz=UTC)
    assert trace.rows[1].problem == "The field “old_score” no longer exists."
    assert trace.rows[1].actual == "(no such field)"
    assert trace.rows[1].result is False


@pytest.mark.parametrize(
    "data",
    [
        "nonsense",
        {"conditions": "x"},
        {"conditions": [None, 3, {"field": 5}]},
        {"conditions": [{"field": "score", "op": "gt", "value": "many"}]},
        {"conditions": [{"field": "note", "op": "is", "value": 12}]},
        {"conditions": [{"field": "born", "op": "on", "value": "2026-02-30"}]},
        {"conditions": [{"field": "score", "op": "between", "value": [1]}]},
        {"conditions": [{"field": "score", "op": "no_such_op"}]},
        {"conditions": [{"field": "country", "op": "is", "value": "JP"}], "pattern": "1 and"},
    ],
)
def test_aut4_unclean_stored_data_matches_nothing_and_never_raises(org_a, data):
    """A set that was never cleaned (or went stale) is false in both places, not a crash."""
    contact = stored_contact(org_a, "country", "JP")
    python, in_query = both_answers(org_a, contact, data)
    assert python == in_query
    trace = condition_set_explain(data, contact_values(contact, SPECS), specs=SPECS, tz=UTC)
    json.dumps(trace.as_json())
    if isinstance(data, dict) and isinstance(data.get("conditions"), list) and data["conditions"]:
        assert python is False


# --- the trace and the purity of evaluation ------------------------------------------------


def test_aut4_explain_shows_each_condition_with_the_actual_value(org_a):
    with scopes_disabled():
        contact = ContactFactory(
            org=org_a,
            country="JP",
            custom={"score": 42, "seen": "2026-12-05T16:30:00+00:00", "tags": ["Red", "Blue"]},
        )
    data = condition_set_clean(
        {
            "conditions": [
                {"field": "country", "op": "one_of", "value": ["JP", "FR"]},
                {"field": "score", "op": "between", "value": [50, 100]},
                {"field": "seen", "op": "last_days", "value": 7},
                {"field": "tags", "op": "any_of", "value": ["Green"]},
                {"field": "note", "op": "empty"},
            ],
            "pattern": "(1 and 2) or (3 and 5) or 4",
        },
        specs=SPECS,
    )
    values = contact_values(contact, SPECS)
    trace = condition_set_explain(data, values, specs=SPECS, tz=TOKYO, now=NOW)
    assert isinstance(trace, Trace)
    assert trace.result is True
    assert trace.pattern == "(1 and 2) or (3 and 5) or 4"
    shown = [
        (r.number, r.field_label, r.op_label, r.expected, r.actual, r.result) for r in trace.rows
    ]
    assert shown == [
        (1, "Country", "is one of", "JP, FR", "JP", True),
        (2, "Score", "is between", "50 – 100", "42", False),
        (3, "Last seen", "is in the last N days", "7 days", "2026-12-06 01:30", True),
        (4, "Tags", "has any of", "Green", "Red, Blue", False),
        (5, "Note", "is empty", "", "(empty)", True),
    ]
    stored = json.loads(json.dumps(trace.as_json()))
    assert stored["result"] is True
    assert stored["rows"][1]["actual"] == "42"
    assert trace.result == condition_set_evaluate(data, values, specs=SPECS, tz=TOKYO, now=NOW)
    with translation.override("ja"):
        japanese = condition_set_explain(data, values, specs=SPECS, tz=TOKYO, now=NOW)
    assert japanese.rows[2].expected == "7 日"
    assert japanese.rows[4].actual == "（空）"


def test_aut4_evaluation_makes_no_query(org_a, django_assert_num_queries):
    with scopes_disabled():
        contact = ContactFactory(org=org_a, country="JP", custom={"score": 3})
    data = condition_set_clean(truth_set([True, False], "1 or 2"), specs=SPECS)
    with django_assert_num_queries(0):
        values = contact_values(contact, SPECS)
        assert condition_set_evaluate(data, values, specs=SPECS, tz=TOKYO)
        condition_set_explain(data, values, specs=SPECS, tz=TOKYO)
        condition_set_q(data, specs=SPECS, tz=TOKYO)


def test_aut4_contact_values_reads_standard_and_custom_fields(org_a):
    with scopes_disabled():
        contact = ContactFactory(org=org_a, country="JP", custom={"score": 3, "stale": 1})
    values = contact_values(contact, SPECS)
    assert values["country"] == "JP"
    assert values["score"] == 3
    assert values["note"] is None  # missing
    assert "stale" not in values


def test_aut4_the_query_is_one_statement_over_contacts(org_a, django_assert_num_queries):
    """The compiled Q filters a queryset like any other: one statement, the org added by the
    caller, another org's contacts untouched."""
    data = condition_set_clean(one("country", "is", "JP"), specs=SPECS)
    with scopes_disabled():
        mine = ContactFactory(org=org_a, country="JP")
        other = ContactFactory(country="JP")
        q = condition_set_q(data, specs=SPECS, tz=UTC)
        with django_assert_num_queries(1):
            found = set(Contact.objects.filter(org=org_a).filter(q).values_list("pk", flat=True))
    assert found == {mine.pk}
    assert other.org_id != org_a.pk
