"""The list pages against Django's admin, side by side under load (issue 21): prints figures
and a PASS/FAIL verdict per page; exits 0 either way (a benchmark, not a test).

Goal (issue 21): every list page serves at least as many requests per second as Django's
admin changelist of the same model (ratio >= 1.0x), a request served alone has p95 < 50 ms,
and a 25-row page weighs < 40 KB of HTML — at 100,000 contacts and 2,000 CRM users.

Pages, each this app's and the admin's, same org, rows, order and page size (25):
contacts page 1; contacts filtered (subscription paid) and sorted (newest first), page 50;
contacts search (q=tanaka); accounts list; users list (active members); the portal's Users
tab; a portal's failed invitations (BENCH_FAILED_INVITATIONS, default as many as contacts,
100,000 at full size), page 1 and filtered by reason; the portal site's record list as a
portal user sees it (below).

The portal record list (`/portal/<slug>/contacts/`, POR-7) is signed in as a portal user whose
group shares contacts with the "account" scope: they see the contacts of their contact's
account (an account holding 1 % of the org's contacts, ~1,000 at full size), 25 a page,
ordered last name, first name, pk, showing first name, last name, email, phone and country.
Its admin counterpart is the Contact changelist of a second admin site (/bench-admin-portal/,
signed in as the org's owner) filtered the way that scope filters (`account__id__exact=<the
account>`, inside the same org's scope), with the same page size, order and columns, and
without the admin's extra count of the unfiltered table (`show_full_result_count = False`),
as the portal page counts only the rows it pages.

Data: the PostgreSQL database `crm_portal_bench_lists` (BENCH_DB_NAME) on the server of
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), kept between runs and
reused when it holds the asked sizes (else dropped and built again, ~1 min at full size): one
org with BENCH_CONTACTS (default 100,000) contacts with Latin and Japanese names, BENCH_USERS
(default 2,000) CRM users (90 % active) and BENCH_ACCOUNTS (default 2,000) accounts, written
with bulk_create, then VACUUM (ANALYZE). The org's owner is also a Django superuser, who signs
in on both sides with the same session.

Server: gunicorn, 2 sync workers, DEBUG off, persistent database connections
(DB_CONN_MAX_AGE=60), benchmark-only settings benchmarks/_admin_settings.py (the app's
settings plus django.contrib.admin on /bench-admin/ with ModelAdmins in
benchmarks/_admin_site.py, and a middleware that counts each request's SQL statements into an
X-Bench-Statements header, on both sides).

Measures, per page and side:
- alone: BENCH_SOLO (default 20) requests one after the other after a warm-up: p95 ms, HTML
  size, statements;
- under load: locust headless (benchmarks/_locustfile.py), 10 users in a closed loop for
  BENCH_SECONDS (default 15) s; pairs alternated (app, admin, app, admin …) BENCH_ROUNDS
  (default 2) times, so that a slow spell of the machine hits both sides: req/s over all
  rounds, p50/p95/p99 (median of the rounds), CPU ms per request (user + system time of the
  gunicorn workers from /proc/<pid>/stat, divided by the requests served).

Run:  make bench    or    .venv/bin/python benchmarks/lists_vs_admin.py
Small run:  BENCH_CONTACTS=3000 BENCH_USERS=100 BENCH_SECONDS=5 BENCH_ROUNDS=1 …
Some pages only:  BENCH_ONLY="search,users" (pages whose name contains any of the words)
"""

import argparse
import csv
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from _bench_db import database_admin, with_database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

CONTACTS = int(os.environ.get("BENCH_CONTACTS") or 100_000)
USERS = int(os.environ.get("BENCH_USERS") or 2000)
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS") or min(2000, max(CONTACTS // 50, 10)))
# Issue 12's size for the portal's Users tab (issue 21 item 4: every later list gets a row).
PORTAL_USERS = int(os.environ.get("BENCH_PORTAL_USERS") or min(1000, max(CONTACTS // 10, 10)))
# The portal's failed-invitation log (issue 13, AUT-7; issue 16): 100,000 rows must page fast.
FAILED_INVITATIONS = int(
    os.environ.get("BENCH_FAILED_INVITATIONS") or min(100_000, max(CONTACTS, 10))
)
PORTAL_SLUG = "bench-lists-help"
# The portal user who reads the portal site's contact list (account scope) and their account,
# which holds every 100th contact.
READER_EMAIL = "reader@bench-lists.example.com"
READER_ACCOUNT = "Bench portal customer"
SECONDS = float(os.environ.get("BENCH_SECONDS") or 15)
ROUNDS = int(os.environ.get("BENCH_ROUNDS") or 2)
SOLO = int(os.environ.get("BENCH_SOLO") or 20)
LOCUST_USERS = int(os.environ.get("BENCH_LOCUST_USERS") or 10)
WORKERS = 2
DB_NAME = os.environ.get("BENCH_DB_NAME") or "crm_portal_bench_lists"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
ORG_NAME = "Bench lists"
OWNER_EMAIL = "owner@bench-lists.example.com"
PAGE_SIZE = 25
DEEP_PAGE = 50
CHUNK = 5000

GOAL_RATIO = 1.0
GOAL_P95_MS = 50.0
GOAL_HTML_KB = 40.0


def child_env(database_url: str, var_dir: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="_admin_settings",
        PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT), env.get("PYTHONPATH", "")]),
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY="benchmark-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        STATIC_MANIFEST="false",
        DB_CONN_MAX_AGE="60",
        REDIS_URL="",
        CELERY_BROKER_URL="memory://",
        CELERY_TASK_ALWAYS_EAGER="true",
        VAR_DIR=var_dir,
    )
    return env


# --- set-up child: check, or build, the data; sign in ----------------------------------------


def existing_counts() -> dict | None:
    from django.db import DatabaseError
    from django_scopes import scopes_disabled

    from portals.models import FailedInvitation, PortalUser
    from records.models import Account, Contact
    from users.models import CrmUser, Organization

    try:
        with scopes_disabled():
            org = Organization.objects.filter(name=ORG_NAME).first()
            if org is None:
                return None
            return {
                "contacts": Contact.objects.filter(org=org).count(),
                "users": CrmUser.objects.filter(org=org).count(),
                # the portal reader and their account are counted apart
                "accounts": Account.objects.filter(org=org).exclude(name=READER_ACCOUNT).count(),
                "portal_users": PortalUser.objects.filter(org=org, user__isnull=True).count(),
                "portal_readers": PortalUser.objects.filter(org=org, user__isnull=False).count(),
                "failed_invitations": FailedInvitation.objects.filter(org=org).count(),
            }
    except DatabaseError:
        return None


def build() -> None:
    from contact_list import COUNTRIES, DOMAINS, FIRST_NAMES, LAST_NAMES, SUBSCRIPTIONS
    from django.db import connection
    from django_scopes import scopes_disabled

    from portals.models import Portal, PortalUser, UserGroup
    from records.models import Account, Contact
    from users.models import CrmUser, Profile, Role, User
    from users.services.organizations import organization_create

    rng = random.Random(20261206)
    with scopes_disabled():
        owner = User.objects.create_user(email=OWNER_EMAIL, language="en")
        owner.is_staff = owner.is_superuser = True
        owner.save()
        org = organization_create(name=ORG_NAME, owner=owner, first_name="Ada", last_name="Admin")
        standard = Profile.objects.get(org=org, builtin=Profile.STANDARD)
        roles = list(Role.objects.filter(org=org))
        statuses = [(CrmUser.Status.ACTIVE, 90), (CrmUser.Status.UNCONFIRMED, 7)]
        statuses.append((CrmUser.Status.DEACTIVATED, 3))
        members = []
        for n in range(USERS - 1):
            last, last_r = rng.choice(LAST_NAMES)
            first, first_r = rng.choice(FIRST_NAMES[:-1])
            status = rng.choices(*zip(*statuses, strict=True))[0]
            members.append(
                CrmUser(
                    org=org,
                    email=f"{first_r}.{last_r}.{n}@{rng.choice(DOMAINS)}",
                    first_name=first,
                    last_name=last,
                    status=status,
                    profile=standard,
                    role=rng.choice(roles),
                )
            )
        CrmUser.objects.bulk_create(members, batch_size=CHUNK)
        owners = list(CrmUser.objects.filter(org=org, status=CrmUser.Status.ACTIVE))
        accounts = Account.objects.bulk_create(
            [
                Account(
                    org=org,
                    name=f"{rng.choice(LAST_NAMES)[0]} {rng.choice(['KK', 'GmbH', 'Inc.'])} {n}",
                    website=f"https://www.account{n}.example.com",
                    country=rng.choice(COUNTRIES)[0],
                    owner=rng.choice(owners),
                )
                for n in range(ACCOUNTS)
            ],
            batch_size=CHUNK,
        )
        codes, weights = [c for c, _w, _l in COUNTRIES], [w for _c, w, _l in COUNTRIES]
        subscriptions, shares = zip(*SUBSCRIPTIONS, strict=True)
        for offset in range(0, CONTACTS, CHUNK):
            batch = []
            for n in range(offset, min(offset + CHUNK, CONTACTS)):
                last, last_r = rng.choice(LAST_NAMES)
                first, first_r = rng.choice(FIRST_NAMES)
                local = ".".join(p for p in (first_r, last_r) if p) or "contact"
                batch.append(
                    Contact(
                        org=org,
                        first_name=first,
                        last_name=last,
                        email=f"{local}{n}@{rng.choice(DOMAINS)}",
                        subscription=rng.choices(subscriptions, shares)[0],
                        country=rng.choices(codes, weights)[0],
                        language="en",
                        owner=rng.choice(owners) if rng.random() < 0.97 else None,
                        account=rng.choice(accounts) if rng.random() < 0.6 else None,
                    )
                )
            Contact.objects.bulk_create(batch, batch_size=CHUNK)
        portal = Portal.objects.create(
            org=org, name="Help centre", slug=PORTAL_SLUG, languages=["en", "ja"]
        )
        group = UserGroup.objects.create(
            org=org,
            portal=portal,
            name="Customers",
            modules={"contacts": {"actions": ["view"], "records": "own", "fields_shown": []}},
        )
        portal_statuses = [(PortalUser.Status.ACTIVE, 60), (PortalUser.Status.INVITED, 30)]
        portal_statuses.append((PortalUser.Status.DISABLED, 10))
        PortalUser.objects.bulk_create(
            [
                PortalUser(
                    org=org,
                    portal=portal,
                    group=group,
                    contact=contact,
                    email=contact.email,
                    status=rng.choices(*zip(*portal_statuses, strict=True))[0],
                )
                for contact in Contact.objects.filter(org=org).order_by("pk")[:PORTAL_USERS]
            ],
            batch_size=CHUNK,
        )
        build_portal_reader(org, portal)
        build_failed_invitations(org, portal, rng)
    with connection.cursor() as cursor:
        for table in (
            "records_contact",
            "records_account",
            "users_crmuser",
            "portals_portaluser",
            "portals_failedinvitation",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def build_portal_reader(org, portal) -> None:
    """The portal user of the portal record list: their group shares contacts with the
    "account" scope; their contact's account holds every 100th contact of the org."""
    from django.db import connection

    from portals.models import PortalUser, UserGroup
    from records.models import Account, Contact
    from users.models import User

    account = Account.objects.create(org=org, name=READER_ACCOUNT, country="JP")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE records_contact SET account_id = %s WHERE org_id = %s AND id %% 100 = 0",
            [account.pk, org.pk],
        )
    group = UserGroup.objects.create(
        org=org,
        portal=portal,
        name="Account contacts",
        modules={
            "contacts": {
                "actions": ["view"],
                "records": "account",
                "fields_shown": ["first_name", "last_name", "email", "phone", "country"],
                "fields_editable": [],
            }
        },
    )
    contact = Contact.objects.filter(org=org, account=account).exclude(portal_users__isnull=False)
    contact = contact.order_by("pk").first()
    PortalUser.objects.create(
        org=org,
        portal=portal,
        group=group,
        contact=contact,
        user=User.objects.create_user(email=READER_EMAIL, language="en"),
        email=READER_EMAIL,
        status=PortalUser.Status.ACTIVE,
    )


def build_failed_invitations(org, portal, rng) -> None:
    """AUT-7's log at size: names and addresses copied from contacts, every reason, spread
    over the last 90 days (failed_at is set on insert, so it is spread afterwards)."""
    from django.db import connection

    from portals.models import FailedInvitation

    reasons = [code for code, _label in FailedInvitation.Reason.choices]
    contacts = list(contact_rows(org, 5000))
    for offset in range(0, FAILED_INVITATIONS, CHUNK):
        rows = []
        for _n in range(offset, min(offset + CHUNK, FAILED_INVITATIONS)):
            pk, name, email = rng.choice(contacts)
            rows.append(
                FailedInvitation(
                    org=org,
                    portal=portal,
                    contact_id=pk,
                    record_name=name,
                    email=email,
                    language="en",
                    reason=rng.choice(reasons),
                )
            )
        FailedInvitation.objects.bulk_create(rows, batch_size=CHUNK)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE portals_failedinvitation SET failed_at = failed_at - "
            "(id %% 7776000) * interval '1 second' WHERE org_id = %s",
            [org.pk],
        )


def contact_rows(org, limit: int):
    from records.models import Contact

    for pk, first, last, email in Contact.objects.filter(org=org).values_list(
        "pk", "first_name", "last_name", "email"
    )[:limit]:
        yield pk, f"{first} {last}".strip(), email


def run_setup(check_only: bool) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django_scopes import scopes_disabled

    from portals.models import Portal
    from records.models import Account, Contact
    from users.models import Organization, User

    if check_only:
        return {"counts": existing_counts()}
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    built = existing_counts() is None
    if built:
        build()
    with scopes_disabled():
        org = Organization.objects.get(name=ORG_NAME)
        paid = Contact.objects.filter(org=org, subscription="paid").count()
        portal_pk = Portal.objects.get(org=org, slug=PORTAL_SLUG).pk
        reader_account = Account.objects.get(org=org, name=READER_ACCOUNT).pk
    client, reader = Client(), Client()
    client.force_login(User.objects.get(email=OWNER_EMAIL))
    reader.force_login(User.objects.get(email=READER_EMAIL))
    return {
        "slug": org.slug,
        "portal_pk": portal_pk,
        "portal_slug": PORTAL_SLUG,
        "reader_account": reader_account,
        "session": client.cookies["sessionid"].value,
        "reader_session": reader.cookies["sessionid"].value,
        "deep_page": max(1, min(DEEP_PAGE, math.ceil(paid / PAGE_SIZE))),
        "counts": existing_counts(),
        "built": built,
        "seconds": time.perf_counter() - started,
    }


def spawn(env: dict, *args) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"set-up child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(env: dict, port: int, log) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "crm_portal.wsgi",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--pythonpath",
            f"{HERE},{ROOT}",
            "--timeout",
            "120",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if server.poll() is not None:
                raise RuntimeError("gunicorn exited at start") from None
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes, in seconds."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


# --- measuring --------------------------------------------------------------------------------


def get(base: str, path: str, session: str) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(base + path, headers={"Cookie": f"sessionid={session}"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def alone(base: str, path: str, session: str) -> dict:
    status, body, headers = get(base, path, session)
    if status != 200:
        raise RuntimeError(f"{path} answered {status}: {body[:300]!r}")
    times = []
    for _ in range(SOLO):
        started = time.perf_counter()
        get(base, path, session)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p95_alone": times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)],
        "html_kb": len(body) / 1024,
        "statements": int(headers.get("X-Bench-Statements", "0")),
    }


def number(text: str) -> float:
    """A figure of locust's CSV: "N/A" when nothing was answered."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def under_load(
    base: str,
    path: str,
    session: str,
    pids: list[int],
    workdir: str,
    *,
    users: int | None = None,
    seconds: float | None = None,
    think: str = "",
) -> dict:
    """One locust run on one page: `users` (LOCUST_USERS) in a closed loop for `seconds`
    (SECONDS); `think` "lo,hi" makes each user wait lo..hi s between its requests."""
    users = users or LOCUST_USERS
    seconds = seconds or SECONDS
    prefix = os.path.join(workdir, f"run{time.monotonic_ns()}")
    env = dict(os.environ, BENCH_PATH=path, BENCH_SESSION=session, BENCH_THINK=think)
    before = cpu_seconds(pids)
    started = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).with_name("locust")),
            "-f",
            str(HERE / "_locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds:g}s",
            "--host",
            base,
            "--csv",
            prefix,
            "--only-summary",
            "--loglevel",
            "ERROR",
        ],
        env=env,
        capture_output=True,
        check=False,
    )
    wall = time.perf_counter() - started
    cpu = cpu_seconds(pids) - before
    with open(f"{prefix}_stats.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    requests = int(row["Request Count"])
    return {
        "requests": requests,
        "failures": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50": number(row["50%"]),
        "p95": number(row["95%"]),
        "p99": number(row["99%"]),
        "cpu_ms": cpu * 1000 / requests if requests else float("nan"),
        "wall": wall,
    }


def cases(setup: dict) -> list[tuple]:
    """(name, this app's path, the admin's path[, "reader" when the app's side is read by
    the portal user instead of the org's owner])."""
    slug, deep_page, portal_pk = setup["slug"], setup["deep_page"], setup["portal_pk"]
    o = f"/o/{slug}"
    a = "/bench-admin"
    return [
        ("contacts page 1", f"{o}/contacts/", f"{a}/records/contact/"),
        (
            f"contacts paid, newest, page {deep_page}",
            f"{o}/contacts/?subscription=paid&sort=-created&page={deep_page}",
            # o=-7: the 7th column of list_display (created_at), descending
            f"{a}/records/contact/?subscription__exact=paid&o=-7&p={deep_page}",
        ),
        ("contacts search q=tanaka", f"{o}/contacts/?q=tanaka", f"{a}/records/contact/?q=tanaka"),
        ("accounts page 1", f"{o}/accounts/", f"{a}/records/account/"),
        ("users (active) page 1", f"{o}/users/", f"{a}/users/crmuser/?status__exact=active"),
        (
            "portal users page 1",
            f"{o}/portals/{portal_pk}/users/",
            f"{a}/portals/portaluser/?portal__id__exact={portal_pk}",
        ),
        (
            "portal record list (account scope)",
            f"/portal/{setup['portal_slug']}/contacts/",
            f"{a}-portal/records/contact/?account__id__exact={setup['reader_account']}",
            "reader",
        ),
        (
            "failed invitations page 1",
            f"{o}/portals/{portal_pk}/failed-invitations/",
            f"{a}/portals/failedinvitation/?portal__id__exact={portal_pk}",
        ),
        (
            "failed invitations reason bounced",
            f"{o}/portals/{portal_pk}/failed-invitations/?reason=bounced",
            f"{a}/portals/failedinvitation/?portal__id__exact={portal_pk}&reason__exact=bounced",
        ),
    ]


def chosen(all_cases: list[tuple]) -> list[tuple]:
    """The pages BENCH_ONLY names (comma-separated words of their names), else all."""
    words = [w.strip() for w in os.environ.get("BENCH_ONLY", "").split(",") if w.strip()]
    return [c for c in all_cases if not words or any(w in c[0] for w in words)]


def measure(
    base: str,
    setup: dict,
    pids: list[int],
    case: tuple,
    workdir: str,
    *,
    rounds: int | None = None,
    solo: bool = True,
    **load,
) -> dict:
    """Both sides of one page: alone (unless not `solo`), then `rounds` (ROUNDS) locust runs
    a side, alternated; `load` goes to under_load (users, seconds, think)."""
    _name, app_path, admin_path, *who = case
    sessions = {
        "app": setup["reader_session"] if who == ["reader"] else setup["session"],
        "admin": setup["session"],
    }
    sides = (("app", app_path), ("admin", admin_path))
    result = {}
    for side, path in sides:
        result[side] = alone(base, path, sessions[side]) if solo else {}
        result[side]["runs"] = []
    for _ in range(ROUNDS if rounds is None else rounds):
        for side, path in sides:
            run = under_load(base, path, sessions[side], pids, workdir, **load)
            result[side]["runs"].append(run)
    for side in ("app", "admin"):
        runs = result[side].pop("runs")
        requests = sum(r["requests"] for r in runs)
        result[side].update(
            requests=requests,
            failures=sum(r["failures"] for r in runs),
            rps=requests / sum(r["wall"] for r in runs) if runs else 0.0,
            locust_rps=statistics.mean(r["rps"] for r in runs),
            p50=statistics.median(r["p50"] for r in runs),
            p95=statistics.median(r["p95"] for r in runs),
            p99=statistics.median(r["p99"] for r in runs),
            cpu_ms=statistics.mean(r["cpu_ms"] for r in runs),
        )
    return result


# --- report ----------------------------------------------------------------------------------


def verdict(result: dict) -> tuple[bool, list[str]]:
    app, admin = result["app"], result["admin"]
    ratio = app["locust_rps"] / admin["locust_rps"] if admin["locust_rps"] else float("inf")
    checks = [
        (ratio >= GOAL_RATIO, f"{ratio:.2f}x req/s"),
        (app["p95_alone"] < GOAL_P95_MS, f"p95 alone {app['p95_alone']:.0f} ms"),
        (app["html_kb"] < GOAL_HTML_KB, f"HTML {app['html_kb']:.0f} KB"),
        (app["failures"] == 0, f"{app['failures']} failed"),
    ]
    return all(ok for ok, _ in checks), [text for ok, text in checks if not ok]


def report(setup: dict, results: list[tuple[str, dict]]) -> bool:
    counts = setup["counts"]
    print(
        f"\nOne org: {counts['contacts']:,} contacts, {counts['accounts']:,} accounts, "
        f"{counts['users']:,} CRM users ({'built' if setup['built'] else 'reused'}, "
        f"{setup['seconds']:.0f} s). gunicorn {WORKERS} workers; locust {LOCUST_USERS} users, "
        f"{ROUNDS} x {SECONDS:g} s per side, pairs alternated; alone: {SOLO} requests."
    )
    head = (
        f"{'page':34} {'side':5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} "
        f"{'alone95':>7} {'CPU/req':>8} {'HTML':>7} {'SQL':>4}"
    )
    print(head)
    print("-" * len(head))
    passed = True
    for name, result in results:
        for side in ("app", "admin"):
            r = result[side]
            print(
                f"{name if side == 'app' else '':34} {side:5} {r['locust_rps']:7.1f} "
                f"{r['p50']:6.0f} {r['p95']:6.0f} {r['p99']:6.0f} {r['p95_alone']:7.1f} "
                f"{r['cpu_ms']:6.1f}ms {r['html_kb']:5.1f}KB {r['statements']:4d}"
            )
        ok, why = verdict(result)
        passed &= ok
        app, admin = result["app"], result["admin"]
        print(
            f"{'':34} ratio app/admin: req/s {app['locust_rps'] / admin['locust_rps']:.2f}x, "
            f"CPU {app['cpu_ms'] / admin['cpu_ms']:.2f}x, "
            f"HTML {app['html_kb'] / admin['html_kb']:.2f}x -> "
            + ("PASS" if ok else "FAIL (" + "; ".join(why) + ")")
        )
    print(
        f"(ms; goals: req/s >= {GOAL_RATIO:.1f}x the admin's, p95 alone < {GOAL_P95_MS:.0f} ms, "
        f"HTML < {GOAL_HTML_KB:.0f} KB)"
    )
    print("Verdict:", "PASS" if passed else "FAIL")
    return passed


def wanted_counts() -> dict:
    """The sizes asked for (existing_counts of a database that holds them)."""
    return {
        "contacts": CONTACTS,
        "users": USERS,
        "accounts": ACCOUNTS,
        "portal_users": PORTAL_USERS,
        "portal_readers": 1,
        "failed_invitations": FAILED_INVITATIONS,
    }


def locust_missing() -> bool:
    if Path(sys.executable).with_name("locust").exists():
        return False
    print("locust is not installed: pip install -e '.[bench]' (make bench does)")
    return True


def prepare(workdir: str) -> tuple[dict, dict] | None:
    """The benchmark database checked (built again unless it holds wanted_counts()), the
    owner and the portal reader signed in: (the server's environment, the set-up), or None
    when no PostgreSQL answers."""
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not server_url.startswith(("postgres://", "postgresql://")):
        server_url = DEFAULT_DATABASE_URL
    env = child_env(with_database(server_url, DB_NAME), workdir)
    wanted = wanted_counts()
    try:
        found = spawn(env, "check")["counts"]
    except RuntimeError:
        found = None
    if found != wanted:
        database_admin("drop", server_url, DB_NAME)
        created = database_admin("create", server_url, DB_NAME)
        if created.get("error"):
            print(f"No PostgreSQL to measure on: {created['error']}")
            return None
        print(f"Building {DB_NAME}: {wanted} …", flush=True)
    return env, spawn(env, "setup")


@contextmanager
def serving(env: dict, setup: dict, workdir: str):
    """gunicorn (WORKERS workers) on a free port for the time of the block: (base URL, the
    workers' pids)."""
    port = free_port()
    with open(os.path.join(workdir, "gunicorn.log"), "w") as log:
        server = start_gunicorn(env | {"BENCH_ORG_SLUG": setup["slug"]}, port, log)
        try:
            yield f"http://127.0.0.1:{port}", worker_pids(server.pid)
        finally:
            stop(server)


def main() -> int:
    if locust_missing():
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-lists-") as workdir:
        ready = prepare(workdir)
        if ready is None:
            return 0
        env, setup = ready
        results = []
        with serving(env, setup, workdir) as (base, pids):
            for case in chosen(cases(setup)):
                print(f"  measuring {case[0]} …", flush=True)
                results.append((case[0], measure(base, setup, pids, case, workdir)))
    report(setup, results)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["check", "setup"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_setup(check_only=args.child == "check")))
    else:
        sys.exit(main())
