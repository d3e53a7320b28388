"""USR-3 / issue 16: the users list's first page is read through the index of its order
(crmuser_list_order), not by sorting every member of the org; at 10,000 members the sort
took ~40 ms of the page's time."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from users.models import CrmUser

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the plan is PostgreSQL's"
)


def test_usr3_users_list_page_reads_members_in_the_order_of_the_index(client_admin_a, org_a):
    with scopes_disabled():
        CrmUser.objects.bulk_create(
            CrmUser(
                org=org_a,
                email=f"member{n}@example.com",
                first_name=f"Sam{n % 97}",
                last_name=f"Name{n % 113}",
                status=CrmUser.Status.ACTIVE,
            )
            for n in range(3000)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE users_crmuser")
    with CaptureQueriesContext(connection) as captured:
        response = client_admin_a.get(f"/o/{org_a.slug}/users/")
    assert response.status_code == 200
    page = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT "users_crmuser"."id"')
        and "ORDER BY" in q["sql"]
        and "LIMIT 25" in q["sql"]
    ]
    assert len(page) == 1, [q["sql"][:120] for q in captured.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + page[0])
        plan = json.dumps(cursor.fetchone()[0])
    assert "crmuser_list_order" in plan, plan
    assert '"Node Type": "Sort"' not in plan, plan
