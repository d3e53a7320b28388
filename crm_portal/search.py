"""Free-text search of the list pages (issue 21: indexed search; REC-2, USR-3).

`contains_any(fields, q)` is the one condition the contacts, accounts and users lists search
with: a case-insensitive "contains" on any of the fields. On PostgreSQL Django writes each
part as `UPPER("table"."col"::text) LIKE UPPER('%q%')`; the migrations users/0005 and
records/0011 create a GIN trigram index (pg_trgm, gin_trgm_ops) on exactly `UPPER(col::text)`
for every searched column, so the planner answers the OR with a BitmapOr of Bitmap Index
Scans instead of reading the whole table. On SQLite there is no index: a plain contains.

`%`, `_` and `\\` in q match themselves (Django escapes them in LIKE patterns).

A trigram index needs three characters to narrow anything down: for q of one or two
characters pg_trgm extracts no trigram from `%q%`, the index would return every row, and
the planner reads the org's rows instead (a Seq Scan or the org's btree index) — still
correct, as fast as before the index.

The order of a searched page matters as much: with `ORDER BY last_name … LIMIT 25` the planner
prefers walking the (org, last_name, …) btree and filtering, expecting matches spread evenly —
but matches of a name are bunched in name order ("tanaka" sits near the end: 65,000 rows read,
80 ms at 100,000 contacts). `order_for_search` keeps the same order while hiding it from the
btree (COALESCE(col, col)), so the matches come from the trigram indexes and only they are
sorted (10 ms).
"""

from collections.abc import Iterable

from django.db.models import F, Q
from django.db.models.functions import Coalesce

# pg_trgm finds trigrams in `%q%` only from 3 characters on.
TRIGRAM_MIN_LENGTH = 3

# Columns searched by each list; the migrations index exactly these (UPPER(col::text)).
CONTACT_SEARCH_FIELDS = ("first_name", "last_name", "email")
ACCOUNT_SEARCH_FIELDS = ("name", "website")
CRM_USER_SEARCH_FIELDS = ("first_name", "last_name", "email")


def contains_any(fields: Iterable[str], q: str) -> Q:
    """Rows where any of `fields` contains `q`, ignoring case; Q() (everything) for an empty q."""
    q = (q or "").strip()
    condition = Q()
    if not q:
        return condition
    for name in fields:
        condition |= Q(**{f"{name}__icontains": q})
    return condition


def order_for_search(ordering: Iterable[str], q: str) -> list:
    """`ordering` (field names, "-" for descending) for a page searched with `q`: the same
    order, written so that the sort's btree index cannot serve it when the trigram indexes
    can serve the search (q of 3 characters or more); unchanged otherwise."""
    ordering = list(ordering)
    if len((q or "").strip()) < TRIGRAM_MIN_LENGTH:
        return ordering
    expressions = []
    for item in ordering:
        name = item.removeprefix("-")
        same = Coalesce(F(name), F(name))
        expressions.append(same.desc() if item.startswith("-") else same.asc())
    return expressions
