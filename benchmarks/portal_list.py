"""The portal record list at 100,000 contacts and 1,000 portal users (POR-7, issue 12 Speed):
prints figures, asserts nothing.

Target (issue): "Portal record list with 100,000 contacts in the org and 1,000 portal users:
p95 under 50 ms per page and a fixed number of statements whatever the page".

What is measured: the real page, `GET /portal/<slug>/contacts/?page=N` through Django's test
Client (whole middleware stack, template rendered), signed in (force_login) as a portal user of
each record scope (own, related, account): BENCH_REQUESTS (default 40) requests per page
after one untimed warm-up, their p50 and p95, and the number of SQL statements of each page
(django.test.utils.CaptureQueriesContext). Verdict: PASS when every page of every scope makes
the same number of statements and every p95 is under 50 ms (the machine may be busy: the
times are indicative, the statement counts are not).

Data: one org with BENCH_CONTACTS (default 100,000) contacts spread over 2,000 accounts (about
50 contacts each, so the related and account scopes have two pages), one portal, three user
groups and BENCH_PORTAL_USERS (default 1,000) portal users with accounts, written with
bulk_create inside scopes_disabled, then VACUUM (ANALYZE).

How: a throwaway PostgreSQL database `crm_portal_bench_portal_<pid>` on the server of
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), migrated, dropped at the
end. Without a server the script says so and exits 0.

Run:  .venv/bin/python benchmarks/portal_list.py
"""

import os
import statistics
import sys
import time
from pathlib import Path

from _bench_db import database_admin, with_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONTACTS = int(os.environ.get("BENCH_CONTACTS") or 100_000)
PORTAL_USERS = int(os.environ.get("BENCH_PORTAL_USERS") or 1000)
REQUESTS = int(os.environ.get("BENCH_REQUESTS") or 40)
ACCOUNTS = 2000
CHUNK = 5000
TARGET_MS = 50
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def set_env(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm_portal.settings"
    os.environ["DEBUG"] = "true"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ["REDIS_URL"] = ""
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["DATABASE_URL"] = database_url


def populate() -> dict:
    """The org, its contacts and accounts, the portal, its groups and portal users."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django_scopes import scopes_disabled

    from portals.models import Portal, PortalUser, UserGroup
    from records.models import Account, Contact
    from users.models import Organization, User

    fields = ["first_name", "last_name", "email", "phone"]
    with scopes_disabled():
        org = Organization.objects.create(name="Bench Corp", slug="bench")
        accounts = Account.objects.bulk_create(
            Account(org=org, name=f"Account {n:04}") for n in range(ACCOUNTS)
        )
        for start in range(0, CONTACTS, CHUNK):
            Contact.objects.bulk_create(
                Contact(
                    org=org,
                    first_name=f"First{n}",
                    last_name=f"Last{n:06}",
                    email=f"contact{n}@example.com",
                    phone="+81 3 0000 0000",
                    account=accounts[n % ACCOUNTS],
                )
                for n in range(start, min(start + CHUNK, CONTACTS))
            )
        portal = Portal.objects.create(org=org, name="Bench portal", slug="bench-portal")
        groups = {
            scope: UserGroup.objects.create(
                org=org,
                portal=portal,
                name=scope,
                modules={
                    "contacts": {
                        "actions": ["view"],
                        "records": scope,
                        "fields_shown": fields,
                        "fields_editable": [],
                    }
                },
            )
            for scope in ("own", "related", "account")
        }
        password = make_password("bench-password-42")
        users = User.objects.bulk_create(
            User(email=f"portal{n}@example.com", password=password) for n in range(PORTAL_USERS)
        )
        contacts = list(Contact.objects.filter(org=org).order_by("pk")[:PORTAL_USERS])
        scopes = list(groups)
        PortalUser.objects.bulk_create(
            PortalUser(
                org=org,
                portal=portal,
                group=groups[scopes[n % 3]],
                contact=contacts[n],
                user=users[n],
                email=users[n].email,
                status=PortalUser.Status.ACTIVE,
            )
            for n in range(PORTAL_USERS)
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) records_contact")
    with scopes_disabled():
        return {
            scope: PortalUser.objects.filter(group=group).select_related("user").first().user
            for scope, group in groups.items()
        }


def measure(users: dict) -> bool:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    ok, counts = True, set()
    print(f"{'scope':8} {'page':>4} {'p50':>8} {'p95':>8} {'statements':>10}")
    for scope, user in users.items():
        client = Client(HTTP_HOST="localhost")  # ALLOWED_HOSTS has no "testserver"
        client.force_login(user)
        for page in ("1", "2"):
            url = f"/portal/bench-portal/contacts/?page={page}"
            assert client.get(url).status_code == 200
            times = []
            for _request in range(REQUESTS):
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            p95 = statistics.quantiles(times, n=20)[-1]
            counts.add(len(captured))
            ok &= p95 < TARGET_MS
            print(
                f"{scope:8} {page:>4} {statistics.median(times):7.1f}ms {p95:7.1f}ms "
                f"{len(captured):>10}"
            )
    for sql in captured.captured_queries:
        print("  ", sql["sql"][:160])
    ok &= len(counts) == 1
    return ok


def main() -> None:
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    name = f"crm_portal_bench_portal_{os.getpid()}"
    created = database_admin("create", server_url, name)
    if created.get("error"):
        print(f"no PostgreSQL to measure on: {created['error']}")
        return
    try:
        set_env(with_database(server_url, name))
        import django
        from django.core.management import call_command

        django.setup()
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        users = populate()
        print(
            f"set-up {time.perf_counter() - started:.1f} s: {CONTACTS} contacts, "
            f"{ACCOUNTS} accounts, {PORTAL_USERS} portal users"
        )
        ok = measure(users)
        print("PASS" if ok else "FAIL", f"(p95 under {TARGET_MS} ms, statements fixed)")
    finally:
        from django.db import connections

        connections.close_all()
        dropped = database_admin("drop", server_url, name)
        if dropped.get("error"):
            print(f"could not drop {name}: {dropped['error']}", file=sys.stderr)


if __name__ == "__main__":
    main()
