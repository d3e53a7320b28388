"""Contact list at 100,000 contacts in an org (REC-2): prints figures, asserts nothing.

Target (issue): the contact list must be "fast at 100,000 contacts in an org: the list page
makes a fixed number of queries and uses indexes".

What is measured: the real page, `GET /o/<slug>/contacts/?…` through Django's test Client
(whole middleware stack, template rendered), signed in (force_login) as the org's super admin
and as a Standard member, for each case below: the median wall time of BENCH_REQUESTS (default
5) requests after one untimed warm-up, the number of SQL statements of one more request
(django.test.utils.CaptureQueriesContext) and, for the two heavy statements of that request —
the paginator's COUNT and the page's SELECT … LIMIT 25 — the plan PostgreSQL chooses for them
(the captured statement with its parameters, under EXPLAIN (FORMAT JSON)): which scan reads
records_contact, and through which of its indexes.

Verdict (issue 21: "a pinned statement count" per list, whatever the org's size): PASS when
every case makes at most the statements pinned for it (PINNED_STATEMENTS, per signed-in
person), the page's SELECT and its total are found in every case, and no case but the
free-text search reads records_contact with a Seq Scan. The pins differ by case on purpose:
the owner filter also reads the chosen owner's name (+1), and a search reads its total with
the page's ids in one statement (COUNT(*) OVER (), −1: a separate COUNT would run the trigram
lookup twice). A Standard member's page also reads their profile and the role tree; the
super admin's reads the portal groups of the bulk bar's "Invite to portal". `q` is an
icontains on first name, last name and email, which no btree index can serve: the GIN
trigram indexes of records/0011_search_trigram do (issue 21); its plan is printed for
information.

Data (set-up child, timed apart): an org made by users.services.organization_create (its super
admin in the top role CEO), 5 active Standard members below it — one in Manager, the role under
CEO, the others in Sales under Manager, so the measured member sees their own contacts and
those of the 4 in Sales — then BENCH_CONTACTS (default 100,000) contacts with Latin and Japanese
names, emails, a spread of subscriptions, ~30 countries, owners spread over the 6 people (a few
without owner), ~60 % linked to one of 2,000 accounts, created_at spread over five years.
BENCH_OTHER_CONTACTS (default 100,000) more contacts are spread over 4 other orgs: a shared
database holds other tenants, so `org_id = …` is not true of every row (with one org alone,
reading the whole table would be the right plan for a COUNT). Contacts are written with
Contact.objects.bulk_create in chunks inside scopes_disabled (this measures the read path),
then VACUUM (ANALYZE) records_contact: fresh statistics and the visibility map that autovacuum
would keep on a live table.

How: as benchmarks/user_import.py, the script creates its own throwaway PostgreSQL database
`crm_portal_bench_<pid>` on the server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/postgres), migrates it and drops it at the end. There is no
SQLite fallback (the plans are PostgreSQL's): without a server the script says so and exits 0
without measuring. Set-up and each signed-in person run in child processes (this script
re-invoked with --child). The machine may be busy with other work: the times are medians, the
statement counts and plans do not depend on it.

Run:  make bench      or      .venv/bin/python benchmarks/contact_list.py
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _bench_db import (
    bench_env_defaults,
    database_admin,
    load_average,
    spawn_child,
    throwaway_database,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONTACTS = int(os.environ.get("BENCH_CONTACTS") or 100_000)  # in the measured org
OTHER_CONTACTS = int(os.environ.get("BENCH_OTHER_CONTACTS") or 100_000)  # in 4 other orgs
OTHER_ORGS = 4
REQUESTS = int(os.environ.get("BENCH_REQUESTS") or 5)  # timed requests per case
ACCOUNTS = 2000
CHUNK = 5000  # contacts per bulk_create
PAGE_SIZE = 25
DEEP_PAGE = 2000
TABLE = "records_contact"
SEARCH_CASE = "search q=tanaka"
OWNER_CASE = "owner filter"
# Statements of one request per case, at most (issue 21). The super admin: session, account,
# membership (with its org), the COUNT, the page's ids, their rows, the bulk bar's portal
# groups; a Standard member: session, account, membership, profile, role, role tree, COUNT,
# ids, rows. The owner filter reads the chosen owner (+1); a search counts with its ids (−1).
BASE_STATEMENTS = {"admin": 7, "member": 9}
CASE_EXTRA = {OWNER_CASE: 1, SEARCH_CASE: -1}


# --- environment and database (as in user_import.py) ----------------------------------------


# --- set-up child: migrate, orgs, people, accounts, contacts ---------------------------------

# (written, romanised for the email address)
LAST_NAMES = [
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("Tanaka", "tanaka"), ("Sato", "sato"), ("Yamamoto", "yamamoto"), ("Mori", "mori"),
    ("Smith", "smith"), ("Johnson", "johnson"), ("Williams", "williams"), ("Brown", "brown"),
    ("Jones", "jones"), ("Miller", "miller"), ("Davis", "davis"), ("Wilson", "wilson"),
    ("Martin", "martin"), ("Bernard", "bernard"), ("Dubois", "dubois"), ("Lefèvre", "lefevre"),
    ("Müller", "mueller"), ("Schmidt", "schmidt"), ("Schneider", "schneider"),
    ("Fischer", "fischer"), ("García", "garcia"), ("Fernández", "fernandez"),
    ("López", "lopez"), ("Martínez", "martinez"), ("Rossi", "rossi"), ("Russo", "russo"),
    ("Kowalski", "kowalski"), ("Nowak", "nowak"), ("Kim", "kim"), ("Lee", "lee"),
    ("Park", "park"), ("Wang", "wang"), ("Li", "li"), ("Zhang", "zhang"), ("Silva", "silva"),
    ("Santos", "santos"), ("Jansen", "jansen"), ("de Vries", "devries"), ("O'Brien", "obrien"),
    ("Andersson", "andersson"), ("Nielsen", "nielsen"), ("Novák", "novak"),
]  # fmt: skip
FIRST_NAMES = [
    ("太郎", "taro"), ("花子", "hanako"), ("翔太", "shota"), ("陽菜", "hina"), ("蓮", "ren"),
    ("結衣", "yui"), ("美咲", "misaki"), ("大翔", "hiroto"), ("健", "ken"), ("さくら", "sakura"),
    ("Hiroshi", "hiroshi"), ("Yuki", "yuki"), ("Kenji", "kenji"), ("Aiko", "aiko"),
    ("James", "james"), ("Mary", "mary"), ("John", "john"), ("Patricia", "patricia"),
    ("Robert", "robert"), ("Jennifer", "jennifer"), ("Michael", "michael"), ("Linda", "linda"),
    ("Marie", "marie"), ("Jean", "jean"), ("Camille", "camille"), ("Lucas", "lucas"),
    ("Lena", "lena"), ("Jonas", "jonas"), ("Emma", "emma"), ("José", "jose"),
    ("Lucía", "lucia"), ("Carlos", "carlos"), ("Giulia", "giulia"), ("Marco", "marco"),
    ("Anna", "anna"), ("Piotr", "piotr"), ("Min-jun", "minjun"), ("Wei", "wei"),
    ("Sofia", "sofia"), ("Lars", "lars"), ("Zoë", "zoe"), ("", ""),
]  # fmt: skip
DOMAINS = [
    "example.com", "example.jp", "example.fr", "example.de", "example.org", "mail.example.net",
    "corp.example.co.jp", "example.es", "example.it", "example.co.uk",
]  # fmt: skip
# (ISO code, weight, language)
COUNTRIES = [
    ("JP", 30, "ja"), ("US", 14, "en"), ("FR", 6, "en"), ("DE", 6, "en"), ("GB", 5, "en"),
    ("ES", 3, "en"), ("IT", 3, "en"), ("CA", 3, "en"), ("AU", 2, "en"), ("KR", 2, "en"),
    ("CN", 2, "en"), ("TW", 2, "ja"), ("SG", 2, "en"), ("IN", 2, "en"), ("BR", 2, "en"),
    ("MX", 1, "en"), ("NL", 1, "en"), ("BE", 1, "en"), ("CH", 1, "en"), ("AT", 1, "en"),
    ("SE", 1, "en"), ("NO", 1, "en"), ("DK", 1, "en"), ("FI", 1, "en"), ("PL", 1, "en"),
    ("CZ", 1, "en"), ("PT", 1, "en"), ("IE", 1, "en"), ("NZ", 1, "en"), ("TH", 1, "en"),
    ("", 2, ""),
]  # fmt: skip
SUBSCRIPTIONS = [("none", 40), ("free", 25), ("trial", 12), ("paid", 18), ("cancelled", 5)]
TITLES = ["", "Sales Director", "IT Manager", "Buyer", "CEO", "Office Manager", "Engineer"]
COMPANY_FORMS = ["Trading", "Holdings", "GmbH", "SARL", "株式会社", "Inc."]
INDUSTRIES = ["Manufacturing", "Retail", "Software", "Finance", "Logistics", "Healthcare"]
# The 5 Standard members: (first name, last name, role, share of the org's contacts they own)
MEMBERS = [
    ("Kenji", "Mori", "Manager", 14),  # the one who signs in as a Standard member
    ("Aiko", "Sato", "Sales", 20),
    ("Lucas", "Martin", "Sales", 18),
    ("Emma", "Wilson", "Sales", 16),
    ("Ren", "Kato", "Sales", 12),
]
ADMIN_SHARE, NO_OWNER_SHARE = 17, 3


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


class CreatedAtAsGiven:
    """Lets bulk_create keep the created_at we set (auto_now_add would stamp `now`): only in
    the set-up child, restored afterwards."""

    def __enter__(self):
        from records.models import Contact

        self.field = Contact._meta.get_field("created_at")
        self.field.auto_now_add = False

    def __exit__(self, *exc):
        self.field.auto_now_add = True


def make_people(org, rng):
    """5 active Standard members below the super admin: one in Manager, 4 in a new role
    Sales under Manager. Returns [(member, share of contacts)] incl. the admin and None."""
    from users.models import CrmUser, Profile, Role, User

    admin = CrmUser.objects.get(org=org, is_super_admin=True)
    standard = Profile.objects.get(org=org, builtin=Profile.STANDARD)
    manager = Role.objects.get(org=org, name="Manager")
    roles = {
        "Manager": manager,
        "Sales": Role.objects.create(org=org, name="Sales", parent=manager),
    }
    owners = [(admin, ADMIN_SHARE), (None, NO_OWNER_SHARE)]
    for first, last, role, share in MEMBERS:
        email = f"{first}.{last}@{org.slug}.example.com".lower()
        user = User.objects.create_user(email=email, language="en")
        member = CrmUser.objects.create(
            org=org,
            user=user,
            email=email,
            first_name=first,
            last_name=last,
            status=CrmUser.Status.ACTIVE,
            profile=standard,
            role=roles[role],
        )
        owners.append((member, share))
    return owners


def make_accounts(org, owners, count, rng):
    from records.models import Account

    people = [o for o, _share in owners if o is not None]
    accounts = []
    for n in range(count):
        last, _romaji = rng.choice(LAST_NAMES)
        code = weighted(rng, [(c, w) for c, w, _l in COUNTRIES])
        accounts.append(
            Account(
                org=org,
                name=f"{last} {rng.choice(COMPANY_FORMS)} {n}",
                website=f"https://www.account{n}.example.com",
                industry=rng.choice(INDUSTRIES),
                country=code,
                owner=rng.choice(people),
            )
        )
    return Account.objects.bulk_create(accounts, batch_size=CHUNK)


def contact(org, n: int, rng: random.Random, owners, accounts, created):
    """Contact number `n` of the org, unsaved."""
    from records.models import Contact

    last, last_r = rng.choice(LAST_NAMES)
    first, first_r = rng.choice(FIRST_NAMES)
    code, _w, language = rng.choices(COUNTRIES, weights=[w for _c, w, _l in COUNTRIES])[0]
    local = ".".join(part for part in (first_r, last_r) if part) or "contact"
    email = "" if rng.random() < 0.04 else f"{local}{n}@{rng.choice(DOMAINS)}"
    owner = rng.choices([o for o, _s in owners], weights=[s for _o, s in owners])[0]
    return Contact(
        org=org,
        first_name=first,
        last_name=last,
        email=email,
        phone=f"+{rng.randint(1, 99)} {rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        title=rng.choice(TITLES),
        account=rng.choice(accounts) if accounts and rng.random() < 0.6 else None,
        subscription=weighted(rng, SUBSCRIPTIONS),
        language=language if rng.random() < 0.9 else "",
        city=rng.choice(["", "Tokyo", "Osaka", "Paris", "Berlin", "New York", "London", "大阪市"]),
        country=code,
        owner=owner,
        created_at=created + timedelta(hours=rng.uniform(-48, 48)),
    )


def make_contacts(org, count, owners, accounts, seed: int) -> None:
    from records.models import Contact

    rng = random.Random(seed)
    span = timedelta(days=5 * 365)
    start = datetime(2021, 1, 1, tzinfo=UTC)
    for offset in range(0, count, CHUNK):
        batch = [
            # created over five years in insertion order, as on a live table
            contact(org, n, rng, owners, accounts, start + span * (n / count))
            for n in range(offset, min(offset + CHUNK, count))
        ]
        Contact.objects.bulk_create(batch, batch_size=CHUNK)


def new_org(label: str):
    from users.models import User
    from users.services.organizations import organization_create

    owner = User.objects.create_user(email=f"owner-{label}@bench.example.com")
    return organization_create(
        name=f"Bench {label}", owner=owner, first_name="Ada", last_name="Admin"
    )


def contact_indexes() -> dict[str, str]:
    """{index name: "col, col"} of records_contact, as PostgreSQL has them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
        rows = cursor.fetchall()
    return {name: re.search(r"\((.*)\)", definition).group(1) for name, definition in rows}


def run_setup() -> dict:
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scopes_disabled

    from records.models import Contact

    timings = {}
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    timings["migrate"] = time.perf_counter() - started
    rng = random.Random(20251121)
    with scopes_disabled(), CreatedAtAsGiven():
        started = time.perf_counter()
        org = new_org("main")
        owners = make_people(org, rng)
        accounts = make_accounts(org, owners, ACCOUNTS, rng)
        make_contacts(org, CONTACTS, owners, accounts, seed=1)
        timings["contacts"] = time.perf_counter() - started
        started = time.perf_counter()
        for n in range(OTHER_ORGS):
            other = new_org(f"other-{n}")
            share = OTHER_CONTACTS // OTHER_ORGS + (n < OTHER_CONTACTS % OTHER_ORGS)
            make_contacts(other, share, make_people(other, rng), [], seed=100 + n)
        timings["other"] = time.perf_counter() - started
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {TABLE}")  # outside a transaction: autocommit
            cursor.execute("ANALYZE users_crmuser")
            cursor.execute("ANALYZE records_account")
        timings["vacuum"] = time.perf_counter() - started
        member = owners[2][0]  # MEMBERS[0], who signs in
        counts = {
            "org": Contact.objects.filter(org=org).count(),
            "table": Contact.objects.count(),
            "paid": Contact.objects.filter(org=org, subscription="paid").count(),
            "fr": Contact.objects.filter(org=org, country="FR").count(),
        }
    return {
        "slug": org.slug,
        "admin_user": owners[0][0].user_id,
        "member_user": member.user_id,
        "owner_filter": owners[3][0].pk,  # a Sales member: the Manager member sees theirs
        "timings": timings,
        "counts": counts,
        "indexes": contact_indexes(),
    }


# --- measured children: one per signed-in person ----------------------------------------------


def cases(owner_id: int) -> list[tuple[str, str]]:
    return [
        ("default (name, page 1)", ""),
        (f"deep page {DEEP_PAGE}", f"page={DEEP_PAGE}"),
        ("sort -created", "sort=-created"),
        ("subscription=paid", "subscription=paid"),
        ("country=FR", "country=FR"),
        (OWNER_CASE, f"owner={owner_id}"),
        (SEARCH_CASE, "q=tanaka"),
        ("paid+JP, sort -created", "subscription=paid&country=JP&sort=-created"),
    ]


class StatementLog:
    """A connection.execute_wrapper keeping each statement with its parameters, to EXPLAIN."""

    def __init__(self):
        self.statements = []  # (sql, params, ms)

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, params, (time.perf_counter() - started) * 1000))


def heavy_statements(statements) -> dict:
    """The page's SELECT … LIMIT on records_contact and the paginator's COUNT; a search reads
    its total in the page's statement (COUNT(*) OVER ()), so there "count" is that statement."""
    found = {}
    for statement in statements:
        sql = statement[0]
        if f'FROM "{TABLE}"' not in sql:
            continue
        if re.search(r"\bLIMIT\b", sql):
            found.setdefault("page", statement)
            if " OVER ()" in sql:
                found.setdefault("count", statement)
        elif "COUNT(" in sql.upper():
            found.setdefault("count", statement)
    return found


def pinned_statements(person: str, case: str) -> int:
    return BASE_STATEMENTS[person] + CASE_EXTRA.get(case, 0)


def plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


SCANS = ("Seq Scan", "Index Scan", "Index Only Scan")


def contact_scans(plan: dict, indexes: dict) -> list[str]:
    """How the plan reads records_contact: "Seq Scan", "Index Scan <index>", "Index Only Scan
    <index>", "Bitmap Index Scan <index>" (a Bitmap Heap Scan's index side)."""
    scans = []
    for node in plan_nodes(plan):
        kind = node["Node Type"]
        filtered = " +Filter" if "Filter" in node else ""  # rows read, then thrown away
        if node.get("Relation Name") == TABLE and kind in SCANS:
            name = f" {node['Index Name']}" if "Index Name" in node else ""
            scans.append(f"{kind}{name}{filtered}")
        elif kind == "Bitmap Index Scan" and node.get("Index Name") in indexes:
            scans.append(f"{kind} {node['Index Name']}")
        elif node.get("Relation Name") == TABLE and filtered:  # a Bitmap Heap Scan's filter
            scans.append(f"{kind}{filtered}")
        elif node.get("Relation Name") == TABLE and kind != "Bitmap Heap Scan":
            scans.append(kind)
    return scans


def explain(sql: str, params) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        document = cursor.fetchone()[0]
    if isinstance(document, str):
        document = json.loads(document)
    return document[0]["Plan"]


def top_nodes(plan: dict) -> str:
    """The plan's top nodes, down to the first with several children (a join), e.g.
    "Limit > Incremental Sort > Nested Loop"."""
    names, node = [], plan
    while node:
        names.append(node["Node Type"])
        children = node.get("Plans", [])
        node = children[0] if len(children) == 1 else None
    return " > ".join(names)


def run_person(person: str, setup: dict) -> dict:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from users.models import User

    settings.DEBUG = False  # no query log in the timed requests (the counted one forces it)
    user = User.objects.get(pk=setup[f"{person}_user"])
    client = Client(HTTP_HOST="localhost")  # ALLOWED_HOSTS has no "testserver"
    client.force_login(user)
    url = f"/o/{setup['slug']}/contacts/"
    results = []
    for label, query in cases(setup["owner_filter"]):
        path = f"{url}?{query}" if query else url
        response = client.get(path)  # warm-up
        if response.status_code != 200:
            raise SystemExit(f"{person} {path}: HTTP {response.status_code}")
        times = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        log = StatementLog()
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(log):
            body = client.get(path).content.decode()
        total = re.search(r'id="total">(\d+)<', body)
        shown = re.search(r"Page (\d+) of (\d+)", body)
        row = {
            "case": label,
            "median_ms": statistics.median(times),
            "min_ms": min(times),
            "queries": len(captured.captured_queries),
            "sql": [q["sql"][:160] for q in captured.captured_queries],
            "total": int(total.group(1)) if total else None,
            "shown": f"{shown.group(1)}/{shown.group(2)}" if shown else "1/1",
        }
        heavy = heavy_statements(log.statements)
        row["count_with_page"] = "count" in heavy and heavy.get("count") is heavy.get("page")
        for kind, (sql, params, ms) in heavy.items():
            plan = explain(sql, params)
            row[kind] = {
                "scans": contact_scans(plan, setup["indexes"]),
                "shape": top_nodes(plan),
                "cost": plan["Total Cost"],
                "ms": ms,
            }
        results.append(row)
    return {"person": person, "cases": results}


def child_main(args) -> None:
    if args.child in ("createdb", "dropdb"):
        print("RESULT " + json.dumps(database_admin(args.child[:-2], args.url, args.name)))
        return
    import django

    django.setup()
    if args.child == "setup":
        figures = run_setup()
    else:
        figures = run_person(args.child, json.loads(Path(args.setup).read_text()))
    print("RESULT " + json.dumps(figures), flush=True)


# --- the parent: database, children, report ----------------------------------------------------


def spawn(kind: str, **more) -> dict:
    """Run this script as child `kind`; returns what it printed after RESULT, as a dict."""
    return spawn_child(__file__, kind, **more)


def short_scan(scan: str, indexes: dict) -> str:
    """From "Index Only Scan records_con_org_id_…" to "Index Only Scan (org_id, …)"."""
    kind, _space, name = scan.partition(" records_")
    if not name:
        return scan
    name, _space, filtered = name.partition(" ")
    columns = indexes.get("records_" + name, "records_" + name)
    return f"{kind} ({columns})" + (f" {filtered}" if filtered else "")


def describe(step: dict | None, indexes: dict) -> str:
    if not step:
        return "(not found)"
    scans = [short_scan(s, indexes) for s in step["scans"]] or ["no records_contact scan"]
    return " + ".join(dict.fromkeys(scans))


def seq_scan(step: dict | None) -> bool:
    return bool(step) and any(s.startswith("Seq Scan") for s in step["scans"])


def report(setup: dict, people: list[dict]) -> None:
    indexes = setup["indexes"]
    print(
        f"\nGET /o/{setup['slug']}/contacts/?…: median wall ms of {REQUESTS} requests after 1 "
        f"warm-up (fastest in brackets);\nSQL = statements of one more request; COUNT and page "
        f"= how the paginator's COUNT and the page's SELECT read {TABLE} (EXPLAIN)"
    )
    print(
        "+Filter = the scan reads rows its index condition does not narrow and drops the ones"
        " that do not match"
    )
    header = f"  {'as':<7}{'case':<24}{'ms':>16}{'SQL':>5}{'matches':>9}{'page':>11}"
    print(header)
    print("  " + "-" * (len(header) + 48))
    for person in people:
        for row in person["cases"]:
            timing = f"{row['median_ms']:.1f} ({row['min_ms']:.1f})"
            print(
                f"  {person['person']:<7}{row['case']:<24}{timing:>16}{row['queries']:>5}"
                f"{row['total'] if row['total'] is not None else '?':>9}{row['shown']:>11}"
            )
            if row.get("count_with_page"):
                print(f"  {'':<9}COUNT  with the page's ids, one statement (COUNT(*) OVER ())")
            for kind, label in (("count", "COUNT"), ("page", "page ")):
                if kind == "count" and row.get("count_with_page"):
                    continue
                step = row.get(kind)
                took = f"{step['ms']:.1f} ms" if step else "? ms"
                shape = f"  [{step['shape']}]" if step else ""
                flag = "  <-- Seq Scan" if seq_scan(step) else ""
                print(f"  {'':<9}{label} {took:>9}  {describe(step, indexes)}{shape}{flag}")

    print("\n  statements per page (one request):")
    for person in people:
        counts = {row["case"]: row["queries"] for row in person["cases"]}
        print(f"    {person['person']:<7}" + ", ".join(f"{n}" for n in counts.values()))
    example = people[-1]["cases"][0]["sql"]
    print(f"    e.g. {people[-1]['person']}, default:")
    for sql in example:
        print(f"      {sql[:110]}")

    over = [
        f"{p['person']} / {row['case']}: {row['queries']} > {pin}"
        for p in people
        for row in p["cases"]
        if row["queries"] > (pin := pinned_statements(p["person"], row["case"]))
    ]
    seq = [
        f"{p['person']} / {row['case']} / {kind}"
        for p in people
        for row in p["cases"]
        if row["case"] != SEARCH_CASE
        for kind in ("count", "page")
        if seq_scan(row.get(kind))
    ]
    missing = [
        f"{p['person']} / {row['case']} / {kind}"
        for p in people
        for row in p["cases"]
        for kind in ("count", "page")
        if not row.get(kind)
    ]
    search = {p["person"]: next(r for r in p["cases"] if r["case"] == SEARCH_CASE) for p in people}
    print(
        "\n  search (icontains, served by the trigram indexes), for information: "
        + "; ".join(
            f"{who}: page and its total {describe(r.get('page'), indexes)}"
            if r.get("count_with_page")
            else f"{who}: COUNT {describe(r.get('count'), indexes)}, "
            f"page {describe(r.get('page'), indexes)}"
            for who, r in search.items()
        )
    )
    pins = ", ".join(
        f"{p['person']} "
        + "/".join(str(pinned_statements(p["person"], row["case"])) for row in p["cases"])
        for p in people
    )
    print(f"  statements within the pins of each case ({pins}): {'yes' if not over else 'NO'}")
    if over:
        print(f"  over the pin: {'; '.join(over)}")
    print(f"  Seq Scan on {TABLE} outside the search: {', '.join(seq) if seq else 'none'}")
    if missing:
        print(f"  COUNT / page statement not found: {', '.join(missing)}")
    ok = not over and not seq and not missing
    print(f"\n{'PASS' if ok else 'FAIL'}: pinned statements per page and indexed reads of {TABLE}")


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
                f"{c['org']:,} contacts in the org {t['contacts']:.1f} s, "
                f"{c['table'] - c['org']:,} in {OTHER_ORGS} other orgs {t['other']:.1f} s, "
                f"VACUUM (ANALYZE) {t['vacuum']:.1f} s"
            )
            print(
                f"  in the org: {c['paid']:,} paid, {c['fr']:,} in FR; {TABLE} indexes: "
                + "; ".join(f"({cols})" for cols in sorted(setup["indexes"].values()))
            )
            (workdir / "setup.json").write_text(json.dumps(setup))
            people = [
                spawn(person, setup=str(workdir / "setup.json")) for person in ("admin", "member")
            ]
            report(setup, people)
            print(f"(load average at the end: {load_average()})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    children = ["createdb", "dropdb", "setup", "admin", "member"]
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
