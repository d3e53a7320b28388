""" "Match now" over 1,000,000 contacts (issue 13, AUT-6, AUT-4): prints figures, asserts nothing.

Target (issue): the count of the contacts that meet a 3-condition auto-invite rule, over
1,000,000 contacts, in under 1 s — the compiled Q (records.conditions.condition_set_q) with
indexes; print EXPLAIN.

What is measured, in one run, side by side:
- the count through the compiled Q, as PostgreSQL plans it: the median wall time of
  BENCH_ROUNDS (default 5) counts after one warm-up, and its EXPLAIN (ANALYZE, BUFFERS);
- the same statement with index scans switched off (the plan without the case-insensitive
  country index, records/0014_contact_country_ci): the reference for what the index buys;
- the same count evaluated in Python over the org's rows (condition_set_evaluate on each
  record's values, fetched with values_list in chunks): the reference for what compiling to
  SQL buys, and the proof that both give the same number.
The rule: Country is one of FR, DE (case-insensitive) and (Language is en or Score ≥ 50, a
custom number field), pattern "1 and (2 or 3)", in the org's time zone (Asia/Tokyo).

Data (set-up child, timed apart): two orgs made by users.services.organization_create, a
custom number field "score", then BENCH_CONTACTS (default 1,000,000) contacts in the measured
org and BENCH_OTHER_CONTACTS (default 250,000) in the other (a shared table: `org_id = …` is
not true of every row), written by one INSERT … SELECT over generate_series with a seeded
random(): ~30 countries weighted as in the contact list benchmark (JP 30 %, FR and DE 6 %
each), a language that follows the country (10 % blank), a subscription, and a custom score
0–99 — 10 % of the contacts have it null, "" or missing. The table's indexes are dropped
before the insert and built again after it (faster than maintaining them row by row); the
three trigram search indexes (records/0011) are left out, since no condition reads them. Then
VACUUM (ANALYZE) records_contact.

How: as benchmarks/contact_list.py, a throwaway PostgreSQL database `crm_portal_bench_<pid>`
on the server of DATABASE_URL, dropped at the end; without a server the script says so and
exits 0. Set-up and measurement run in child processes (this script with --child).

Run:  make bench      or      .venv/bin/python benchmarks/match_now.py
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from _bench_db import (
    bench_env_defaults,
    database_admin,
    load_average,
    spawn_child,
    throwaway_database,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONTACTS = int(os.environ.get("BENCH_CONTACTS") or 1_000_000)
OTHER_CONTACTS = int(os.environ.get("BENCH_OTHER_CONTACTS") or 250_000)
ROUNDS = int(os.environ.get("BENCH_ROUNDS") or 5)
GOAL_MS = 1000
TABLE = "records_contact"
RULE = {
    "conditions": [
        {"field": "country", "op": "one_of", "value": ["fr", "de"]},
        {"field": "language", "op": "is", "value": "en"},
        {"field": "score", "op": "ge", "value": 50},
    ],
    "pattern": "1 and (2 or 3)",
}
# (ISO code, weight, language), as benchmarks/contact_list.py
COUNTRIES = [
    ("JP", 30, "ja"), ("US", 14, "en"), ("FR", 6, "en"), ("DE", 6, "en"), ("GB", 5, "en"),
    ("ES", 3, "en"), ("IT", 3, "en"), ("CA", 3, "en"), ("AU", 2, "en"), ("KR", 2, "en"),
    ("CN", 2, "en"), ("TW", 2, "ja"), ("SG", 2, "en"), ("IN", 2, "en"), ("BR", 2, "en"),
    ("MX", 1, "en"), ("NL", 1, "en"), ("BE", 1, "en"), ("CH", 1, "en"), ("AT", 1, "en"),
    ("SE", 1, "en"), ("NO", 1, "en"), ("DK", 1, "en"), ("FI", 1, "en"), ("PL", 1, "en"),
    ("CZ", 1, "en"), ("PT", 1, "en"), ("IE", 1, "en"), ("NZ", 1, "en"), ("TH", 1, "en"),
    ("", 2, ""),
]  # fmt: skip


# --- environment and database (as in contact_list.py) ---------------------------------------


# --- set-up child: migrate, orgs, the custom field, contacts by INSERT … SELECT --------------

# One row per generate_series number; r1…r4 are that row's seeded random() draws.
INSERT = """
INSERT INTO records_contact (
    org_id, first_name, last_name, email, secondary_email, phone, mobile, title, department,
    subscription, language, street, city, state, postal_code, country, description, custom,
    created_at, updated_at
)
SELECT %(org)s, 'Contact', 'Number ' || n, 'contact' || n || '@example.com', '', '', '', '',
       '', (ARRAY['none', 'none', 'free', 'trial', 'paid'])[1 + floor(r3 * 5)::int],
       CASE WHEN r4 < 0.1 THEN ''
            ELSE (%(languages)s::text[])[1 + floor(r1 * %(weights)s)::int] END,
       '', '', '', '', (%(countries)s::text[])[1 + floor(r1 * %(weights)s)::int], '',
       CASE WHEN r2 < 0.04 THEN '{}'::jsonb
            WHEN r2 < 0.07 THEN '{"score": null}'::jsonb
            WHEN r2 < 0.10 THEN '{"score": ""}'::jsonb
            ELSE jsonb_build_object('score', floor(r3 * 100)::int) END,
       now() - n * interval '1 minute', now()
FROM (SELECT n, random() AS r1, random() AS r2, random() AS r3, random() AS r4
      FROM generate_series(1, %(count)s) AS n) AS draws
"""


def weighted_arrays() -> tuple[list[str], list[str]]:
    """The country codes, each as often as its weight, and their languages."""
    codes, languages = [], []
    for code, weight, language in COUNTRIES:
        codes += [code] * weight
        languages += [language] * weight
    return codes, languages


def new_org(label: str, time_zone: str):
    from users.models import User
    from users.services.organizations import organization_create

    owner = User.objects.create_user(email=f"owner-{label}@bench.example.com")
    org = organization_create(
        name=f"Bench {label}", owner=owner, first_name="Ada", last_name="Admin"
    )
    org.time_zone = time_zone
    org.save(update_fields=["time_zone"])
    return org


def run_setup() -> dict:
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scopes_disabled

    from records.models import Contact, CustomField

    timings = {}
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    timings["migrate"] = time.perf_counter() - started
    codes, languages = weighted_arrays()
    with scopes_disabled():
        org = new_org("main", "Asia/Tokyo")
        other = new_org("other", "UTC")
        for each in (org, other):
            CustomField.objects.create(
                org=each, module="contacts", key="score", label="Score", field_type="number"
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                "AND indexname <> %s",
                [TABLE, f"{TABLE}_pkey"],
            )
            indexes = cursor.fetchall()
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            started = time.perf_counter()
            cursor.execute("SELECT setseed(0.42)")
            for target, count in ((org, CONTACTS), (other, OTHER_CONTACTS)):
                cursor.execute(
                    INSERT,
                    {
                        "org": target.pk,
                        "count": count,
                        "countries": codes,
                        "languages": languages,
                        "weights": len(codes),
                    },
                )
            timings["insert"] = time.perf_counter() - started
            started = time.perf_counter()
            cursor.execute("SET maintenance_work_mem = '256MB'")
            built = []
            for name, definition in indexes:
                if "gin_trgm_ops" in definition:
                    continue  # search indexes: no condition reads them
                cursor.execute(definition)
                built.append(name)
            timings["indexes"] = time.perf_counter() - started
            started = time.perf_counter()
            cursor.execute(f"VACUUM (ANALYZE) {TABLE}")  # autocommit: outside a transaction
            timings["vacuum"] = time.perf_counter() - started
        counts = {
            "org": Contact.objects.filter(org=org).count(),
            "table": Contact.objects.count(),
            "fr_de": Contact.objects.filter(org=org, country__in=["FR", "DE"]).count(),
        }
    return {
        "org": org.pk,
        "timings": timings,
        "counts": counts,
        "indexes": built,
        "left_out": [name for name, _d in indexes if name not in built],
    }


# --- measuring child ---------------------------------------------------------------------------


class StatementLog:
    """A connection.execute_wrapper keeping each statement with its parameters, to EXPLAIN."""

    def __init__(self):
        self.statements = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, params))
        return execute(sql, params, many, context)


def timed_counts(queryset) -> tuple[int, list[float]]:
    count = queryset.count()  # warm-up
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        assert queryset.count() == count
        times.append((time.perf_counter() - started) * 1000)
    return count, times


def run_measure(setup: dict) -> dict:
    from django.db import connection
    from django_scopes import scopes_disabled

    from records.conditions import (
        condition_set_clean,
        condition_set_evaluate,
        condition_set_q,
        contact_values,
    )
    from records.models import Contact
    from records.modules import field_specs
    from users.models import Organization

    with scopes_disabled():
        org = Organization.objects.get(pk=setup["org"])
        specs = field_specs(org, "contacts")
        rule = condition_set_clean(RULE, specs=specs)
        q = condition_set_q(rule, specs=specs, tz=org.time_zone)
        matching = Contact.objects.filter(org=org).filter(q)
        count, planned = timed_counts(matching)
        log = StatementLog()
        with connection.execute_wrapper(log):
            matching.count()
        sql, params = log.statements[-1]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            explain = [row[0] for row in cursor.fetchall()]
            for setting in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
                cursor.execute(f"SET {setting} = off")
            unindexed_count, unindexed = timed_counts(matching)
            cursor.execute("EXPLAIN " + sql, params)
            unindexed_plan = [row[0] for row in cursor.fetchall()]
            cursor.execute("RESET ALL")

        # the reference: the same rule evaluated in Python over the org's rows, streamed
        started = time.perf_counter()
        python_count = rows = 0
        values_of = (
            Contact.objects.filter(org=org)
            .values_list("country", "language", "custom")
            .iterator(chunk_size=20_000)
        )
        for country, language, custom in values_of:
            record = SimpleNamespace(country=country, language=language, custom=custom)
            values = contact_values(record, specs)
            python_count += condition_set_evaluate(rule, values, specs=specs, tz=org.time_zone)
            rows += 1
        python_s = time.perf_counter() - started
    return {
        "count": count,
        "planned_ms": planned,
        "explain": explain,
        "unindexed_count": unindexed_count,
        "unindexed_ms": unindexed,
        "unindexed_plan": unindexed_plan,
        "python_count": python_count,
        "python_s": python_s,
        "rows": rows,
    }


def child_main(args) -> None:
    if args.child in ("createdb", "dropdb"):
        print("RESULT " + json.dumps(database_admin(args.child[:-2], args.url, args.name)))
        return
    import django

    django.setup()
    if args.child == "setup":
        figures = run_setup()
    else:
        figures = run_measure(json.loads(Path(args.setup).read_text()))
    print("RESULT " + json.dumps(figures), flush=True)


# --- the parent: database, children, report ----------------------------------------------------


def spawn(kind: str, **more) -> dict:
    """Run this script as child `kind`; returns what it printed after RESULT, as a dict."""
    return spawn_child(__file__, kind, **more)


def report(setup: dict, figures: dict) -> None:
    c = setup["counts"]
    print(
        f"rule: Country is one of FR, DE and (Language is en or Score ≥ 50), pattern "
        f'"{RULE["pattern"]}"; org time zone Asia/Tokyo; {c["org"]:,} contacts in the org '
        f"({c['fr_de']:,} in FR or DE), {c['table']:,} in the table"
    )
    planned, unindexed = figures["planned_ms"], figures["unindexed_ms"]
    python_s = figures["python_s"]
    print(f"\n  {'how':<42}{'matches':>10}{'median ms':>12}{'fastest':>10}")
    print("  " + "-" * 74)
    rows = [
        ("compiled Q, as planned", figures["count"], planned),
        ("compiled Q, index scans off", figures["unindexed_count"], unindexed),
    ]
    for label, count, times in rows:
        print(f"  {label:<42}{count:>10,}{statistics.median(times):>12.1f}{min(times):>10.1f}")
    print(
        f"  {'Python over the rows (1 run)':<42}{figures['python_count']:>10,}"
        f"{python_s * 1000:>12.1f}{'':>10}   {figures['rows']:,} rows fetched and evaluated"
    )
    median = statistics.median(planned)
    print(
        f"\n  compiled Q {statistics.median(unindexed) / median:.1f}x faster than without "
        f"index scans, {python_s * 1000 / median:.0f}x faster than Python over the rows"
    )
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the count, as planned:")
    for line in figures["explain"]:
        print(f"  {line}")
    print("\nEXPLAIN of the same count with index scans off:")
    for line in figures["unindexed_plan"]:
        print(f"  {line}")
    agree = figures["count"] == figures["python_count"] == figures["unindexed_count"]
    fast = median < GOAL_MS
    print(
        f'\n{"PASS" if agree and fast else "FAIL"}: "Match now" count {median:.0f} ms '
        f"(goal < {GOAL_MS} ms); query and Python {'agree' if agree else 'DISAGREE'} "
        f"({figures['count']:,} / {figures['python_count']:,})"
    )


def main() -> None:
    bench_env_defaults()
    workdir = Path(tempfile.mkdtemp(prefix="crm_portal_bench_"))
    os.environ.setdefault("VAR_DIR", str(workdir / "var"))  # leave ./var alone
    try:
        with throwaway_database(__file__) as (database_url, description):
            if database_url is None:
                print(f"PostgreSQL unreachable ({description}): nothing measured.")
                print("Set DATABASE_URL to a PostgreSQL server to run this benchmark.")
                return
            os.environ["DATABASE_URL"] = database_url  # before any django.setup(): children
            print(f"database: {description}")
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load_average()}")
            started = time.perf_counter()
            setup = spawn("setup")
            t, c = setup["timings"], setup["counts"]
            print(
                f"set-up {time.perf_counter() - started:.1f} s: migrate {t['migrate']:.1f} s, "
                f"INSERT … SELECT generate_series of {c['table']:,} contacts {t['insert']:.1f} s, "
                f"{len(setup['indexes'])} indexes {t['indexes']:.1f} s, "
                f"VACUUM (ANALYZE) {t['vacuum']:.1f} s"
            )
            print(f"  left out (no condition reads them): {', '.join(setup['left_out'])}")
            (workdir / "setup.json").write_text(json.dumps(setup))
            figures = spawn("measure", setup=str(workdir / "setup.json"))
            report(setup, figures)
            print(f"(load average at the end: {load_average()})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    children = ["createdb", "dropdb", "setup", "measure"]
    parser.add_argument("--child", choices=children, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.child:
        child_main(arguments)
    else:
        main()
