"""Indexed search (issue 21; REC-2 contacts and accounts lists, USR-5 users list).

On PostgreSQL the `?q=` search of the three lists is served by the GIN trigram indexes of the
migrations users/0005_search_trigram and records/0011_search_trigram: the statements the list
pages really run (captured from a request) are EXPLAINed and their plans must read those
indexes. Without the index a search reads the whole table (issue 21: ~200 ms at 100,000
contacts). The results stay a case-insensitive "contains" in any language, with % and _
taken literally, on PostgreSQL and SQLite alike.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from records.models import Account, Contact
from tests.users.factories import CrmUserFactory
from users.models import CrmUser

CONTACT_INDEXES = {"contact_first_name_trgm", "contact_last_name_trgm", "contact_email_trgm"}
ACCOUNT_INDEXES = {"account_name_trgm", "account_website_trgm"}
CRM_USER_INDEXES = {"crmuser_first_name_trgm", "crmuser_last_name_trgm", "crmuser_email_trgm"}

FILLER_CONTACTS = 2000
FILLER = ["Smith", "Jones", "Müller", "Dubois", "Rossi", "Nowak", "佐藤", "鈴木", "Kim", "Silva"]

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram indexes exist on PostgreSQL only"
)


def settle(tables, indexes):
    """What autovacuum does to a live table: fresh statistics, and the rows just written
    moved from the GIN indexes' pending list into the indexes proper."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")
        for index in sorted(indexes):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])


@pytest.fixture
def many_contacts(org_a, admin_a):
    """2,000 contacts and 2,000 accounts of filler, and a few that the searches look for."""
    with scopes_disabled():
        Contact.objects.bulk_create(
            Contact(
                org=org_a,
                first_name="Pat",
                last_name=FILLER[n % len(FILLER)],
                email=f"filler{n}@example.com",
                owner=admin_a,
            )
            for n in range(FILLER_CONTACTS)
        )
        Account.objects.bulk_create(
            Account(org=org_a, name=f"{FILLER[n % len(FILLER)]} Trading {n}", owner=admin_a)
            for n in range(FILLER_CONTACTS)
        )
        Contact.objects.create(
            org=org_a, first_name="Hiroshi", last_name="Tanaka", email="h.tanaka@acme.jp"
        )
        Contact.objects.create(org=org_a, first_name="太郎", last_name="田中", email="taro@x.jp")
        Contact.objects.create(
            org=org_a, first_name="Zed", last_name="Percent", email="save_50%@x.org"
        )
        Contact.objects.create(
            org=org_a, first_name="Zoe", last_name="Plain", email="saveX50Y@x.org"
        )
        Account.objects.create(org=org_a, name="Tanaka Seisakusho", website="https://tnk.jp")
        Account.objects.create(org=org_a, name="株式会社田中製作所", website="https://tanaka.jp")
    settle(["records_contact", "records_account"], CONTACT_INDEXES | ACCOUNT_INDEXES)


@pytest.fixture
def many_members(org_a, admin_a):
    """2,000 members (issue 21's size) and one that the search looks for."""
    with scopes_disabled():
        CrmUser.objects.bulk_create(
            CrmUser(
                org=org_a,
                email=f"member{n}@example.com",
                first_name="Sam",
                last_name=FILLER[n % len(FILLER)],
                status=CrmUser.Status.ACTIVE,
            )
            for n in range(2000)
        )
        CrmUserFactory(
            org=org_a, first_name="Kenji", last_name="Moriyama", email="kenji@mori.example"
        )
    settle(["users_crmuser"], CRM_USER_INDEXES)


def plans_of_search(client, url) -> list[str]:
    """The plans (as JSON text) of the statements the page ran that carry the search."""
    with connection.cursor() as cursor:
        # A table of a few thousand rows is cheaper to read whole, or through the org's btree
        # index; at 100,000 contacts the planner picks the trigram indexes by itself
        # (benchmarks/lists_vs_admin.py prints the plans). Only in this test's transaction:
        # what is left to choose from are bitmap scans, of the trigram or the org index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    plans = []
    for query in captured.captured_queries:
        if " LIKE " not in query["sql"]:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + query["sql"])
            plans.append(json.dumps(cursor.fetchone()[0]))
    assert plans, "the search statements were not found"
    return plans


@postgresql_only
def test_rec2_issue21_contacts_search_reads_the_trigram_indexes(
    client_admin_a, org_a, many_contacts
):
    plans = plans_of_search(client_admin_a, f"/o/{org_a.slug}/contacts/?q=tanaka")
    # One lookup per search: the page's ids and the total come from one statement.
    assert len(plans) == 1
    for plan in plans:
        assert "Bitmap Index Scan" in plan
        used = {name for name in CONTACT_INDEXES if name in plan}
        assert used == CONTACT_INDEXES, plan  # every searched column through its index


@postgresql_only
def test_rec2_issue21_contacts_search_in_japanese_reads_the_trigram_indexes(
    client_admin_a, org_a, many_contacts
):
    plans = plans_of_search(client_admin_a, f"/o/{org_a.slug}/contacts/?q=田中太")
    assert len(plans) == 1
    assert "contact_last_name_trgm" in plans[0]


@postgresql_only
def test_rec2_issue21_filtered_sorted_search_still_reads_the_trigram_indexes(
    client_admin_a, org_a, many_contacts
):
    plans = plans_of_search(
        client_admin_a, f"/o/{org_a.slug}/contacts/?q=tanaka&sort=-created&subscription=none"
    )
    assert all("contact_email_trgm" in plan for plan in plans[:2])


@postgresql_only
def test_rec2_issue21_accounts_search_reads_the_trigram_indexes(
    client_admin_a, org_a, many_contacts
):
    plans = plans_of_search(client_admin_a, f"/o/{org_a.slug}/accounts/?q=tanaka")
    assert len(plans) == 1
    for plan in plans:
        assert {name for name in ACCOUNT_INDEXES if name in plan} == ACCOUNT_INDEXES, plan


@postgresql_only
def test_usr5_issue21_users_search_reads_the_trigram_indexes(client_admin_a, org_a, many_members):
    plans = plans_of_search(client_admin_a, f"/o/{org_a.slug}/users/?q=mori")
    for plan in plans:
        assert {name for name in CRM_USER_INDEXES if name in plan} == CRM_USER_INDEXES, plan


@postgresql_only
def test_rec2_issue21_the_migrations_made_gin_trigram_indexes(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s", ["%_trgm"]
        )
        found = dict(cursor.fetchall())
    assert set(found) >= CONTACT_INDEXES | ACCOUNT_INDEXES | CRM_USER_INDEXES
    for definition in found.values():
        assert "USING gin" in definition and "gin_trgm_ops" in definition
        assert "upper(" in definition


def listed(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_rec2_issue21_search_ignores_case_and_reads_japanese(client_admin_a, org_a, many_contacts):
    contacts = f"/o/{org_a.slug}/contacts/"
    body = listed(client_admin_a, contacts + "?q=TANAKA")
    assert "h.tanaka@acme.jp" in body and "filler1@" not in body
    body = listed(client_admin_a, contacts + "?q=田中")
    assert "taro@x.jp" in body and "h.tanaka@acme.jp" not in body
    body = listed(client_admin_a, contacts + "?q=ta")  # too short for trigrams: still found
    assert "h.tanaka@acme.jp" in body
    accounts = listed(client_admin_a, f"/o/{org_a.slug}/accounts/?q=製作所")
    assert "株式会社田中製作所" in accounts and "Tanaka Seisakusho" not in accounts


def test_rec2_issue21_percent_and_underscore_match_themselves(client_admin_a, org_a, many_contacts):
    contacts = f"/o/{org_a.slug}/contacts/"
    # As LIKE wildcards, "e_50%" would match both addresses
    body = listed(client_admin_a, contacts + "?q=e_50%25")
    assert "save_50%@x.org" in body and "saveX50Y@x.org" not in body
    body = listed(client_admin_a, contacts + "?q=%25")
    assert "save_50%@x.org" in body and "saveX50Y@x.org" not in body


def test_usr5_issue21_users_search_ignores_case(client_admin_a, org_a, many_members):
    body = listed(client_admin_a, f"/o/{org_a.slug}/users/?q=MORIYAMA")
    assert "kenji@mori.example" in body
    assert "kenji@mori.example" not in listed(client_admin_a, f"/o/{org_a.slug}/users/?q=smith")


def test_rec2_issue21_searched_pages_count_and_page_from_one_lookup(
    client_admin_a, org_a, many_contacts
):
    """Issue 21: a search reads its total and its page's ids in one statement; the count,
    the pages and the rows stay what they were — 200 "Müller" contacts are 8 pages of 25,
    a page past the end shows the last one, and no match is an empty list of 0."""
    contacts = f"/o/{org_a.slug}/contacts/?q=müller"
    first = client_admin_a.get(contacts)
    assert first.context["page"].paginator.count == 200
    assert first.context["page"].paginator.num_pages == 8
    assert len(first.context["page"].object_list) == 25
    seen = set()
    for number in range(1, 9):
        page = client_admin_a.get(f"{contacts}&page={number}").context["page"]
        assert page.number == number and page.paginator.count == 200
        seen |= {contact.pk for contact in page.object_list}
    assert len(seen) == 200  # every match once, across the pages
    beyond = client_admin_a.get(f"{contacts}&page=50").context["page"]
    assert beyond.number == 8 and len(beyond.object_list) == 25
    nothing = client_admin_a.get(f"/o/{org_a.slug}/contacts/?q=nobody-by-that-name")
    assert nothing.context["page"].paginator.count == 0
    assert list(nothing.context["page"].object_list) == []
