"""AUT-4: the evaluation in Python and the compiled query agree — property-based, on
PostgreSQL. Hypothesis draws contacts (standard fields and custom fields of every type, each
value sometimes empty, null, missing or of the wrong JSON type) and condition sets (every
operator of every type, values from the same small domains so that they match often,
patterns with and/or/parentheses), in several time zones and at several instants; for each
set, the contacts condition_set_evaluate accepts are exactly those the query returns. This
is how pretix checks its check-in rules (JSON logic in Python and the same rules as SQL)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from records.conditions import (
    condition_set_clean,
    condition_set_compile,
    condition_set_evaluate,
    condition_set_explain,
    condition_set_q,
    contact_values,
    operators_for,
    value_kind,
)
from records.fields import FieldSpec
from records.models import Contact
from records.modules import standard_specs

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the query side is PostgreSQL's"
)

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
STANDARD_USED = ["first_name", "email", "country", "subscription", "language"]
CONDITION_FIELDS = STANDARD_USED + [spec.key for spec in CUSTOM]
NOW = datetime.datetime(2026, 12, 6, 20, 0, tzinfo=datetime.UTC)
INSTANTS = [NOW, datetime.datetime(2026, 12, 6, 15, 30, tzinfo=datetime.UTC)]
ZONES = ["UTC", "Asia/Tokyo", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
MISSING = object()

WORDS = ["a", "A", "ab", "AB", "b", "é", "É", "東京", "東京都", "%", "a%b", "_", "a_b", "12"]
NAMES = ["", "Jane", "jane", "JANE", "Émile", "émile", "東京", "a%b", "a_b", "Ab"]
EMAILS = ["", "a@example.org", "b@example.jp", "ab@example.org"]
COUNTRIES = ["", "JP", "FR", "US", "jp"]
DAYS = [(NOW.date() + datetime.timedelta(days=n)).isoformat() for n in range(-9, 3)]
NUMBERS = [-5, -1, 0, 1, 2, 5, 10, 0.1, 0.5, -0.5, 2.5, 100]


def moments():
    """Stored date-and-time values around NOW, some with microseconds, some on midnights."""
    offsets = st.integers(-4 * 24 * 4, 2 * 24 * 4).map(lambda q: datetime.timedelta(minutes=15 * q))
    micro = st.sampled_from([0, 0, 1, 999999])
    return st.builds(
        lambda delta, us: (NOW + delta + datetime.timedelta(microseconds=us)).isoformat(),
        offsets,
        micro,
    )


ODD = st.sampled_from([MISSING, None, ""])  # the three spellings of nothing
CUSTOM_VALUES = {
    "note": st.one_of(ODD, st.sampled_from(WORDS), st.sampled_from([12, ["a"], True])),
    "mail": st.one_of(ODD, st.sampled_from(EMAILS[1:] + ["A@Example.org"])),
    "tel": st.one_of(ODD, st.sampled_from(["+81 3-1234", "+1 555", "+81 6"])),
    "tier": st.one_of(ODD, st.sampled_from(["Gold", "Silver", "Bronze", "gold", 3])),
    "tags": st.one_of(
        ODD,
        st.lists(st.sampled_from(["Red", "Green", "Blue"]), unique=True, max_size=3),
        st.sampled_from(["Red", [1], {"Red": True}]),
    ),
    "score": st.one_of(ODD, st.sampled_from(NUMBERS), st.sampled_from(["5", True, False])),
    "price": st.one_of(ODD, st.sampled_from(NUMBERS), st.sampled_from(["0.5"])),
    "born": st.one_of(ODD, st.sampled_from(DAYS), st.sampled_from(["garbage", 5, "2026-12"])),
    "seen": st.one_of(ODD, moments(), st.sampled_from(["2026-12-06 10:00", DAYS[3], True])),
    "vip": st.one_of(ODD, st.sampled_from([True, False, "true", 1])),
}


@st.composite
def contacts(draw):
    custom = {}
    for key, values in CUSTOM_VALUES.items():
        value = draw(values)
        if value is not MISSING:
            custom[key] = value
    return {
        "first_name": draw(st.sampled_from(NAMES)),
        "last_name": "Doe",
        "email": draw(st.sampled_from(EMAILS)),
        "country": draw(st.sampled_from(COUNTRIES)),
        "subscription": draw(st.sampled_from(["none", "paid", "trial"])),
        "language": draw(st.sampled_from(["", "en", "ja"])),
        "custom": custom,
    }


def texts_for(spec: FieldSpec) -> list[str]:
    if spec.type == "country":
        return ["JP", "jp", "FR", "US", "DE"]
    if spec.choices:
        return list(spec.choices) + [choice.lower() for choice in spec.choices]
    if spec.type == "email":
        return ["a@example.org", "A@EXAMPLE.ORG", "example", "@example.jp", "ab"]
    if spec.type == "phone":
        return ["+81", "+81 3-1234", "1234", "555", "6"]
    return WORDS + ["Jane", "JANE", "mile", "東"]


def values_for(spec: FieldSpec, op: str):
    kind = value_kind(spec, op)
    if kind == "none":
        return st.none()
    if kind in ("text", "choice"):
        return st.sampled_from(texts_for(spec))
    if kind == "choices":
        return st.lists(st.sampled_from(texts_for(spec)), min_size=1, max_size=3)
    if kind == "number":
        return st.sampled_from(NUMBERS)
    if kind == "number_pair":
        return st.lists(st.sampled_from(NUMBERS), min_size=2, max_size=2).map(sorted)
    if kind == "date":
        return st.sampled_from(DAYS)
    if kind == "date_pair":
        return st.lists(st.sampled_from(DAYS), min_size=2, max_size=2).map(sorted)
    return st.integers(1, 10)  # days


@st.composite
def conditions(draw):
    spec = BY_KEY[draw(st.sampled_from(CONDITION_FIELDS))]
    op = draw(st.sampled_from(operators_for(spec)))
    return {"field": spec.key, "op": op, "value": draw(values_for(spec, op))}


@st.composite
def patterns(draw, count: int) -> str:
    """A pattern naming each of 1…count once, grouped at random; "" now and then."""
    if count == 0 or draw(st.integers(0, 5)) == 0:
        return ""
    items = [str(n) for n in draw(st.permutations(range(1, count + 1)))]
    while len(items) > 1:
        at = draw(st.integers(0, len(items) - 2))
        word = draw(st.sampled_from(["and", "or", "AND", "Or"]))
        joined = f"{items[at]} {word} {items[at + 1]}"
        if draw(st.booleans()):
            joined = f"({joined})"
        items[at : at + 2] = [joined]
    return items[0]


@st.composite
def condition_sets(draw):
    rows = draw(st.lists(conditions(), max_size=4))
    return {"conditions": rows, "pattern": draw(patterns(len(rows)))}


@pytest.mark.django_db
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(contacts(), min_size=1, max_size=8),
    sets=st.lists(condition_sets(), min_size=1, max_size=6),
    zone=st.sampled_from(ZONES),
    now=st.sampled_from(INSTANTS),
)
def test_aut4_python_evaluation_and_the_query_agree(org_a, people, sets, zone, now):
    """AUT-4: for random contacts and random condition sets, condition_set_evaluate(values)
    is True exactly for the contacts Contact.objects.filter(condition_set_q(...)) returns."""
    tz = ZoneInfo(zone)
    with scopes_disabled():
        rows = Contact.objects.bulk_create([Contact(org=org_a, **person) for person in people])
        try:
            ids = [row.pk for row in rows]
            for data in sets:
                data = condition_set_clean(data, specs=SPECS)
                q = condition_set_q(data, specs=SPECS, tz=tz, now=now)
                in_query = set(
                    Contact.objects.filter(org=org_a, pk__in=ids)
                    .filter(q)
                    .values_list("pk", flat=True)
                )
                in_python = {
                    row.pk
                    for row in rows
                    if condition_set_evaluate(
                        data, contact_values(row, SPECS), specs=SPECS, tz=tz, now=now
                    )
                }
                assert in_python == in_query, (data, zone, now)
                if 0 < len(in_python) < len(rows):
                    event("a set that splits the contacts")
        finally:
            Contact.objects.filter(pk__in=[row.pk for row in rows]).delete()


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(person=contacts(), data=condition_sets(), zone=st.sampled_from(ZONES))
def test_aut4_negating_a_set_flips_both_answers(org_a, person, data, zone):
    """AUT-4: no NULL slips through a NOT — "(set) is false" is the complement in SQL too
    (pretix's empty-vs-NULL pitfall): the contact is in exactly one of Q and ~Q."""
    tz = ZoneInfo(zone)
    data = condition_set_clean(data, specs=SPECS)
    with scopes_disabled():
        row = Contact.objects.create(org=org_a, **person)
        try:
            q = condition_set_q(data, specs=SPECS, tz=tz, now=NOW)
            mine = Contact.objects.filter(pk=row.pk)
            assert mine.filter(q).exists() != mine.filter(~q).exists()
            expected = condition_set_evaluate(
                data, contact_values(row, SPECS), specs=SPECS, tz=tz, now=NOW
            )
            assert mine.filter(q).exists() == expected
        finally:
            row.delete()


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    people=st.lists(contacts(), min_size=1, max_size=6),
    data=condition_sets(),
    garbage=st.sampled_from([None, 7, "x", ["a"], {"a": 1}]),
    zone=st.sampled_from(ZONES),
    now=st.sampled_from(INSTANTS),
)
def test_aut4_the_compiled_set_decides_as_the_explained_one(people, data, garbage, zone, now):
    """AUT-4, AUT-5: the worker's compiled set (condition_set_compile, built once per rule)
    decides every record as the trace an admin reads (condition_set_explain, row by row) —
    cleaned sets, and sets whose last row carries a value of the wrong type, which both
    count as false."""
    tz = ZoneInfo(zone)
    broken = (
        {
            **data,
            "conditions": [*data["conditions"][:-1], {**data["conditions"][-1], "value": garbage}],
        }
        if data["conditions"]
        else data
    )
    for each in (condition_set_clean(data, specs=SPECS), broken):
        test = condition_set_compile(each, specs=SPECS, tz=tz)
        for person in people:
            values = contact_values(Contact(**person), SPECS)
            explained = condition_set_explain(each, values, specs=SPECS, tz=tz, now=now)
            assert test(values, now) == explained.result, (each, person)
