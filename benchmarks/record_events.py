"""Record event cost on the save path (REC-3): prints figures, asserts nothing.

Targets: "The benchmark prints contacts created per second through the service layer with
events on, against the same inserts with events off, side by side; the events must cost less
than 20 % of the save path." And (issue 10, item 5) the service-layer create with its event
within 1.5 times a plain ORM create of the same contact, wall and CPU time.

What is compared, BENCH_CONTACTS (default 2000) contacts per run, each in its own transaction:

- plain ORM create: `Contact.objects.create(org=org, **data)` inside `transaction.atomic()`,
  with the same values (the owner instance, no account): no validation, no event. The floor
  the service layer is measured against.
- events on: `records.services.record_create(org=…, actor=<the org's super admin membership>,
  module="contacts", data=…)` inside `django_scopes.scope(org=org)`, the real code path: the
  contact and its create event (RecordEvent, the outbox row) in the same transaction. The save
  path publishes nothing: the outbox relay (records.relay, its own process in production) hands
  committed events to the broker. So that the events are really handed over, each run then
  drains the outbox with `records.relay.record_events_relay()` as the relay process would,
  timed apart and printed for information (relay events/s).
- events off: the same contacts with the same validation and the same transaction shape as
  events on, but no event. Our code is not changed for it: this script calls what
  record_create calls (`_require_record_permission`, `_apply`, `full_clean`, `save`) inside
  `transaction.atomic` itself. The difference between the two is exactly the create diff and
  the RecordEvent INSERT (with the trigger that NOTIFYs the relay on PostgreSQL); the
  statement counts printed below show it.

The data is what the contact form hands the service: every standard field (empty ones as ""),
realistic values incl. email, phone, country and language, the acting admin as owner.

The relay publishes for real but cheaply: CELERY_TASK_ALWAYS_EAGER=false and
CELERY_BROKER_URL=memory://, so `apply_async` builds and publishes a real message to kombu's
in-memory transport (nothing consumes it; the script checks that one message per event
arrived). A Redis broker would add its round trip to the relay's publish, not to the save path.

The report gives, per contender, contacts/s, ms and CPU ms per contact and the SQL statements
per contact, side by side; then the share the events take of the save path, and the ratio of
events on to the plain ORM create, wall and CPU, per round and of the medians.

How: as benchmarks/user_import.py, the script creates its own throwaway PostgreSQL database
`crm_portal_bench_<pid>` on the server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/postgres), migrates it and drops it at the end; without a
reachable server it falls back to an SQLite file in a temporary directory and says so. Every
run is a fresh child process (this script re-invoked with --child) in an org of its own, so all
runs start from the same state; each creates BENCH_WARMUP (default 20) untimed contacts first
(imports, first queries, the broker connection). The contenders alternate over BENCH_ROUNDS
(default 3) rounds, in reverse order every other round, and the median is reported (the
machine may be busy with other work). One more untimed run per contender counts the SQL
statements (django.test.utils.CaptureQueriesContext). Django's query log is off in the timed
runs (DEBUG is on only so that the settings load without a real secret).

Issue 13 (AUT-8): "Save-path cost with 50 enabled rules versus none: no difference beyond
noise (rules are never read on the save path)." The fourth contender, "events on, 50 rules",
is events on in an org that also has 50 portals, each with an enabled auto-invite rule
(AutoInviteRule: common conditions and two languages' conditions); its statements per contact
must be exactly those of events on, and its time within the noise of the rounds.

Run:  make bench      or      .venv/bin/python benchmarks/record_events.py
"""

import argparse
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _bench_db import bench_env_defaults, database_admin, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONTACTS = int(os.environ.get("BENCH_CONTACTS") or 2000)  # timed contacts per run
WARMUP = int(os.environ.get("BENCH_WARMUP") or 20)  # untimed contacts first, per run
ROUNDS = int(os.environ.get("BENCH_ROUNDS") or 3)  # timed runs per contender, alternated
TARGET = 0.20  # the events must cost less than this share of the save path
FLOOR_TARGET = 1.5  # events on must take at most this many times the plain ORM create
MEMORY_BROKER = "memory://"
# contender: (label, events written?)
CONTENDERS = {
    "orm": ("plain ORM create", False),
    "off": ("events off", False),
    "on": ("events on", True),
    "rules": ("events on, 50 rules", True),
}
AUTO_INVITE_RULES = 50  # enabled rules in the "rules" contender's org (issue 13)
ORG_LABELS = [
    *(f"{who}-{n}" for n in range(1, ROUNDS + 1) for who in CONTENDERS),
    *(f"{who}-diag" for who in CONTENDERS),
]


# --- set-up child: migrate, one org per run -----------------------------------------------


def create_org(label: str) -> int:
    """An org with its defaults (profiles, roles) and an active super admin."""
    from users.models import User
    from users.services.organizations import organization_create

    owner = User.objects.create_user(email=f"owner-{label}@bench.example.com")
    return organization_create(name=f"Bench {label}", owner=owner, last_name="Owner").pk


def run_setup() -> dict:
    from django.core.management import call_command
    from django_scopes import scopes_disabled

    call_command("migrate", verbosity=0, interactive=False)
    with scopes_disabled():
        orgs = {label: create_org(label) for label in ORG_LABELS}
        for label, org_id in orgs.items():
            if label.startswith("rules-"):
                create_auto_invite_rules(org_id, AUTO_INVITE_RULES)
    return {"orgs": orgs}


def create_auto_invite_rules(org_id: int, how_many: int) -> None:
    """`how_many` portals of the org, each with a user group and an enabled auto-invite rule:
    common conditions, then English and Japanese ones (AUT-1 … AUT-4)."""
    from portals.models import AutoInviteRule, Portal, UserGroup

    common = {
        "conditions": [
            {"field": "subscription", "op": "one_of", "value": ["paid", "trial"]},
            {"field": "email", "op": "not_empty", "value": None},
        ],
        "pattern": "1 and 2",
    }
    per_language = [
        {
            "language": "en",
            "conditions": {
                "conditions": [
                    {"field": "country", "op": "one_of", "value": ["GB", "FR", "DE", "ES"]}
                ],
                "pattern": "",
            },
        },
        {
            "language": "ja",
            "conditions": {
                "conditions": [{"field": "country", "op": "is", "value": "JP"}],
                "pattern": "",
            },
        },
    ]
    for n in range(how_many):
        portal = Portal.objects.create(
            org_id=org_id, name=f"Portal {n}", slug=f"bench-{org_id}-{n}", languages=["en", "ja"]
        )
        group = UserGroup.objects.create(org_id=org_id, portal=portal, name="Customers")
        AutoInviteRule.objects.create(
            org_id=org_id,
            portal=portal,
            group=group,
            is_enabled=True,
            language_mode=AutoInviteRule.LanguageMode.MULTIPLE,
            common_conditions=common,
            languages=per_language,
        )


# --- measured children ----------------------------------------------------------------------

FIRST = ["Marie", "Hiroshi", "Lena", "Carlos", "Emma", "太郎", "花子", "Yuki", "José", "Anna"]
LAST = ["Dubois", "Tanaka", "Schmidt", "García", "Wilson", "佐藤", "鈴木", "Rossi", "Nowak", "Kim"]
TITLES = [
    ("Head of Purchasing", "Purchasing"),
    ("IT Manager", "IT"),
    ("Office Manager", "Administration"),
    ("Sales Director", "Sales"),
]
# (street, city, state, postal code, country, language, phone format, domain)
PLACES = [
    ("{n} rue de Rivoli", "Paris", "Île-de-France", "75001", "FR", "en", "+33 1 42 {a} {b}", "fr"),
    ("丸の内1-{n}", "千代田区", "東京都", "100-0005", "JP", "ja", "+81 3-1234-{a}{b}", "jp"),
    ("Friedrichstraße {n}", "Berlin", "Berlin", "10117", "DE", "en", "+49 30 1234 {a}{b}", "de"),
    ("Calle de Alcalá {n}", "Madrid", "Madrid", "28014", "ES", "en", "+34 91 123 {a} {b}", "es"),
    ("{n} Baker Street", "London", "", "NW1 6XE", "GB", "en", "+44 20 7946 {a}{b}", "co.uk"),
]
SUBSCRIPTIONS = ["trial", "free", "paid", "none"]


def contact_data(n: int, owner) -> dict:
    """What ContactForm.cleaned_data hands the service for contact `n`: every field."""
    street, city, state, postal_code, country, language, phone, domain = PLACES[n % len(PLACES)]
    title, department = TITLES[n % len(TITLES)]
    a, b = f"{n // 100 % 100:02d}", f"{n % 100:02d}"
    return {
        "first_name": FIRST[n % len(FIRST)],
        "last_name": LAST[(n // len(FIRST)) % len(LAST)],
        "email": f"contact{n:06d}@example.{domain}",
        "secondary_email": "",
        "phone": phone.format(a=a, b=b),
        "mobile": f"+81 90-5555-{n % 10000:04d}",
        "title": title,
        "department": department,
        "subscription": SUBSCRIPTIONS[n % len(SUBSCRIPTIONS)],
        "language": language,
        "street": street.format(n=n % 200 + 1),
        "city": city,
        "state": state,
        "postal_code": postal_code,
        "country": country,
        "description": "",
        "owner": owner,
        "account": None,
    }


def contact_create_events_off(*, org, actor, data: dict):
    """record_create(module="contacts") without its event: the same permission check,
    field validation, model validation, INSERT and transaction; no diff, no RecordEvent
    row, no on_commit enqueue. Keep in step with records.services.record_create."""
    from django.db import transaction

    from records import services
    from records.modules import MODELS

    with transaction.atomic():
        services._require_record_permission(actor, "contacts", "create")
        record = MODELS["contacts"](org=org)
        services._apply(record, data, creating=True)
        record.full_clean(exclude=["org", "owner", "account"])
        record.save()
    return record


def contact_create_plain_orm(*, org, data: dict):
    """The same contact straight through the ORM, in its own transaction: the floor."""
    from django.db import transaction

    from records.models import Contact

    with transaction.atomic():
        return Contact.objects.create(org=org, **data)


def private_queue(org_id: int) -> str:
    """Celery's default queue, exchange and routing key for this run: a name of its own."""
    from crm_portal.celery import app

    name = f"bench_record_events_{org_id}"
    app.conf.update(
        task_default_queue=name, task_default_exchange=name, task_default_routing_key=name
    )
    return name


def published_messages(queue: str) -> int:
    """Messages waiting in the in-memory `queue` (nobody consumes them)."""
    from kombu.transport.memory import Channel

    found = Channel.queues.get(queue)
    return found.qsize() if found is not None else 0


_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def statement_kinds(captured: list[dict]) -> dict[str, int]:
    """{"INSERT records_contact": n, …}: each statement's verb and first table."""
    counts = Counter()
    for query in captured:
        sql = query["sql"].lstrip()
        verb = sql.split(None, 1)[0].upper() if sql else "?"
        table = _TABLE.search(sql)
        counts[f"{verb} {table.group(1)}" if table else verb] += 1
    return dict(counts)


def run_contender(who: str, org_id: int, diag: bool) -> dict:
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scope, scopes_disabled

    from records.models import Contact, RecordEvent
    from records.relay import record_events_relay
    from records.services import record_create
    from users.models import CrmUser, Organization

    settings.DEBUG = False  # as in production: no query log (the diagnostic run forces one)
    # memory:// has no host: kombu says so on every connection
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)
    _label, events = CONTENDERS[who]
    queue = private_queue(org_id)
    with scopes_disabled():
        org = Organization.objects.get(pk=org_id)
        actor = CrmUser.objects.get(org=org, is_super_admin=True)

    if events:

        def create(data):
            return record_create(org=org, actor=actor, module="contacts", data=data)

    elif who == "orm":

        def create(data):
            return contact_create_plain_orm(org=org, data=data)

    else:

        def create(data):
            return contact_create_events_off(org=org, actor=actor, data=data)

    datas = [contact_data(n, actor) for n in range(WARMUP + CONTACTS)]
    figures = {}
    with scope(org=org):
        for data in datas[:WARMUP]:
            create(data)
        if diag:  # per contact, log emptied: Django keeps a connection's last 9000 statements
            statements = Counter()
            for data in datas[WARMUP:]:
                reset_queries()
                with CaptureQueriesContext(connection) as captured:
                    create(data)
                statements.update(statement_kinds(captured.captured_queries))
            figures.update(statements=dict(statements), seconds=0.0, cpu_seconds=0.0)
        else:
            cpu, start = time.process_time(), time.perf_counter()
            for data in datas[WARMUP:]:
                create(data)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            figures.update(seconds=seconds, cpu_seconds=cpu)
        # What the relay process does with them, apart from the save path.
        start, relayed = time.perf_counter(), 0
        while batch := record_events_relay():
            relayed += batch
        figures.update(
            relay_seconds=time.perf_counter() - start,
            relayed=relayed,
            contacts=Contact.objects.filter(org=org).count(),
            events=RecordEvent.objects.filter(org=org).count(),
            published=published_messages(queue),
        )
    return figures


def child_main(args) -> None:
    if args.child in ("createdb", "dropdb"):
        print("RESULT " + json.dumps(database_admin(args.child[:-2], args.url, args.name)))
        return
    import django

    django.setup()
    if args.child == "setup":
        figures = run_setup()
    else:
        figures = run_contender(args.child, args.org, args.diag)
    print("RESULT " + json.dumps(figures), flush=True)


# --- the parent: database, children, checks, report ------------------------------------------


def spawn(kind: str, org_id: int | None = None, diag: bool = False, **more):
    """Run this script as child `kind`; returns what it printed after RESULT, as a dict."""
    command = [sys.executable, __file__, "--child", kind]
    if org_id is not None:
        command += ["--org", str(org_id)]
    if diag:
        command.append("--diag")
    for option, value in more.items():
        command += [f"--{option}", value]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"child {kind} failed (exit {done.returncode})")
    if done.stderr.strip():  # e.g. a warning from the relay: the figures would lie
        sys.stderr.write(f"[{kind}] {done.stderr}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def check_run(who: str, figures: dict) -> None:
    """Every run must have created its contacts, and events and messages only when on: every
    event handed over, in tasks of OUTBOX_TASK_BATCH_SIZE events (AUT-8: batched)."""
    from math import ceil

    expected = WARMUP + CONTACTS
    events = expected if CONTENDERS[who][1] else 0
    batch = int(os.environ.get("OUTBOX_TASK_BATCH_SIZE") or 100)
    messages = ceil(events / batch)
    got = (figures["contacts"], figures["events"], figures["relayed"], figures["published"])
    if got[:3] != (expected, events, events) or not messages <= got[3] <= events:
        raise SystemExit(
            f"{who}: {got[0]} contacts, {got[1]} events ({got[2]} handed over), {got[3]} "
            f"messages published; expected {expected}, {events} ({events}), "
            f"{messages} to {events}"
        )


def format_statements(statements: dict) -> str:
    total = sum(statements.values())
    parts = ", ".join(
        f"{kind} {n / CONTACTS:g}" for kind, n in sorted(statements.items(), key=lambda i: -i[1])
    )
    return f"{total / CONTACTS:g} ({parts})"


def statement_difference(on: dict, off: dict) -> str:
    kinds = sorted(set(on) | set(off))
    diff = {k: (on.get(k, 0) - off.get(k, 0)) / CONTACTS for k in kinds}
    return ", ".join(f"{k} {v:+g}" for k, v in diff.items() if v) or "none"


def cost(t_on: float, t_off: float) -> float:
    """The share of the events-on save path that the events take."""
    return (t_on - t_off) / t_on


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_report(who_ran: list[str], timed: dict, diag: dict) -> None:
    median = {who: statistics.median(r["seconds"] for r in timed[who]) for who in who_ran}
    best = {who: min(r["seconds"] for r in timed[who]) for who in who_ran}
    cpu = {who: statistics.median(r["cpu_seconds"] for r in timed[who]) for who in who_ran}
    print(
        f"\n{CONTACTS} contacts per run through the service layer, one transaction each "
        f"({WARMUP} untimed first);\nmedian of {ROUNDS} alternated runs per contender "
        f"(best in brackets)"
    )
    header = (
        f"  {'contender':<24}{'contacts/s':>18}{'ms/contact':>12}{'CPU ms':>8}"
        f"   statements/contact (diagnostic run)"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for who in who_ran:
        rate = f"{CONTACTS / median[who]:.0f} ({CONTACTS / best[who]:.0f})"
        print(
            f"  {CONTENDERS[who][0]:<24}{rate:>18}{median[who] / CONTACTS * 1000:>12.3f}"
            f"{cpu[who] / CONTACTS * 1000:>8.3f}   {format_statements(diag[who]['statements'])}"
        )
    print(
        "  CPU ms = this process's CPU time per contact (Python, drivers, serialisation);\n"
        "  the rest of ms/contact is waiting for the database."
    )
    for who, base in (("on", "off"), ("off", "orm"), ("on", "orm")):
        print(
            f"  statements {CONTENDERS[who][0]} - {CONTENDERS[base][0]}: "
            f"{statement_difference(diag[who]['statements'], diag[base]['statements'])}"
        )

    share = cost(median["on"], median["off"])
    rounds = zip(timed["on"], timed["off"], strict=True)
    per_round = [cost(on["seconds"], off["seconds"]) for on, off in rounds]
    print(
        f"\n  cost of events = (t_on - t_off) / t_on = "
        f"({median['on']:.3f} - {median['off']:.3f}) / {median['on']:.3f} s = {share:.1%}"
        f"  < {TARGET:.0%}  {verdict(share < TARGET)}"
    )
    print("    per round: " + ", ".join(f"{c:.1%}" for c in per_round))
    print(
        f"    from the best runs instead: {cost(best['on'], best['off']):.1%} "
        "(the least disturbed by other work on the machine)"
    )
    print_floor_ratio(timed, median, cpu)
    print_rules_cost(timed, median, diag)
    relayed = sum(r["relayed"] for r in timed["on"])
    relay_seconds = sum(r["relay_seconds"] for r in timed["on"])
    print(
        f"  for information, the relay's hand-over (its own process, not the save path): "
        f"{relayed / relay_seconds:.0f} events/s to memory://"
    )


def print_floor_ratio(timed: dict, median: dict, cpu: dict) -> None:
    """Events on against the plain ORM create, wall and CPU."""
    print(f"\n  events on / plain ORM create (target <= {FLOOR_TARGET:g}x):")
    for what, key, medians in (("wall", "seconds", median), ("CPU", "cpu_seconds", cpu)):
        ratio = medians["on"] / medians["orm"]
        rounds = zip(timed["on"], timed["orm"], strict=True)
        per_round = ", ".join(f"{on[key] / orm[key]:.2f}x" for on, orm in rounds)
        print(
            f"    {what:<5}{medians['on'] / CONTACTS * 1000:.3f} / "
            f"{medians['orm'] / CONTACTS * 1000:.3f} ms = {ratio:.2f}x  "
            f"{verdict(ratio <= FLOOR_TARGET)}   per round: {per_round}"
        )


def print_rules_cost(timed: dict, median: dict, diag: dict) -> None:
    """Issue 13: 50 enabled auto-invite rules against none, on the save path."""
    rounds = zip(timed["rules"], timed["on"], strict=True)
    per_round = [rules["seconds"] / on["seconds"] - 1 for rules, on in rounds]
    spread = [on["seconds"] for on in timed["on"]]
    noise = (max(spread) - min(spread)) / median["on"]
    difference = median["rules"] / median["on"] - 1
    same_statements = diag["rules"]["statements"] == diag["on"]["statements"]
    print(
        f"\n  {AUTO_INVITE_RULES} enabled auto-invite rules against none (issue 13): "
        f"{median['rules'] / CONTACTS * 1000:.3f} vs {median['on'] / CONTACTS * 1000:.3f} "
        f"ms/contact = {difference:+.1%}; the rounds of events on alone spread {noise:.1%}"
    )
    print("    per round: " + ", ".join(f"{c:+.1%}" for c in per_round))
    print(
        "    statements per contact the same: "
        f"{'yes' if same_statements else 'NO'} "
        f"({statement_difference(diag['rules']['statements'], diag['on']['statements'])})"
        f"  {verdict(same_statements and abs(difference) <= max(noise, 0.05))}"
    )


def main() -> None:
    bench_env_defaults(eager=False, broker=MEMORY_BROKER)
    workdir = Path(tempfile.mkdtemp(prefix="crm_portal_bench_"))
    os.environ.setdefault("VAR_DIR", str(workdir / "var"))  # leave ./var alone
    try:
        with throwaway_database(__file__, sqlite_dir=workdir) as (database_url, description):
            os.environ["DATABASE_URL"] = database_url  # before any django.setup(): children
            print(f"database: {description}")
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
            started = time.perf_counter()
            setup = spawn("setup")
            print(f"set-up (migrate, {len(ORG_LABELS)} orgs) {time.perf_counter() - started:.1f} s")
            orgs = setup["orgs"]
            who_ran = list(CONTENDERS)
            timed = {who: [] for who in who_ran}
            for n in range(1, ROUNDS + 1):
                order = who_ran if n % 2 else who_ran[::-1]
                for who in order:
                    timed[who].append(spawn(who, orgs[f"{who}-{n}"]))
            diag = {who: spawn(who, orgs[f"{who}-diag"], diag=True) for who in who_ran}
            for who in who_ran:
                for figures in [*timed[who], diag[who]]:
                    check_run(who, figures)
            print_report(who_ran, timed, diag)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    children = ["createdb", "dropdb", "setup", *CONTENDERS]
    parser.add_argument("--child", choices=children, help=argparse.SUPPRESS)
    parser.add_argument("--org", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--diag", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.child:
        child_main(arguments)
    else:
        main()
