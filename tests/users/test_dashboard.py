"""The dashboard (issue 11, Deliver 2): admins see users and licences (ORG-5), invitations not
yet accepted, recent imports and recent audit entries as sentences (USR-9); every member
sees their contacts and the records they may see that changed last (USR-2). No internal
words; a bounded number of queries."""

import pytest
from django_scopes import scopes_disabled

from records.models import Account, ContactImport
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory
from users.audit import audit_log_write
from users.models import CrmUser, User, UserImport


def home(org):
    return f"/o/{org.slug}/"


def card(body: str, card_id: str) -> str:
    """The HTML of one card of the dashboard, or "" when the page has none."""
    marker = f'id="{card_id}"'
    if marker not in body:
        return ""
    return body.split(marker, 1)[1].split("</section>", 1)[0]


@pytest.fixture
def busy_org(org_a, admin_a, member_a):
    """Alpha with a pending invitation, imports of both kinds, an audit entry, contacts of
    the admin (hidden from the member: CEO is above Manager) and of the member."""
    with scopes_disabled():
        CrmUserFactory(org=org_a, status=CrmUser.Status.UNCONFIRMED, user=None)
        UserImport.objects.create(
            org=org_a,
            created_by=admin_a,
            filename="people.xlsx",
            file_format="xlsx",
            status="queued",
        )
        ContactImport.objects.create(
            org=org_a,
            created_by=admin_a,
            filename="leads.csv",
            file_format="csv",
            status="running",
        )
        audit_log_write(
            org=org_a,
            actor=admin_a,
            action="user.access_changed",
            target=member_a,
            details={
                "before": {"role": "Manager", "profile": "Standard"},
                "after": {"role": "Sales", "profile": "Standard"},
            },
        )
        ContactFactory(org=org_a, owner=admin_a, last_name="Bosscontact")
        ContactFactory(org=org_a, owner=member_a, last_name="Membercontact")
        Account.objects.create(org=org_a, name="Acme Shared", owner=member_a)
    return org_a


def test_dash_admin_sees_licences_invitations_imports_and_audit_sentences(client_admin_a, busy_org):
    """ORG-5, USR-9: the admin's cards, in the member's words."""
    body = client_admin_a.get(home(busy_org)).content.decode()

    people = card(body, "card-people")
    assert "Licences: 3 of 3 used · 0 free" in people, "two active, one invited"
    assert "1 invitation not yet accepted" in people
    assert "?status=unconfirmed" in people
    imports = card(body, "card-imports")
    assert "people.xlsx" in imports and "leads.csv" in imports
    assert "Starting…" in imports and "Processing…" in imports
    audit = card(body, "card-audit")
    assert "Role changed from Manager to Sales." in audit
    assert "/settings/audit-log/" in audit
    assert "Bosscontact" in card(body, "card-recent-records")


def test_dash_standard_member_sees_own_part_only(client_member_a, busy_org):
    """USR-2: no admin cards; only the records the member may see."""
    body = client_member_a.get(home(busy_org)).content.decode()

    for admin_card in ("card-people", "card-imports", "card-audit"):
        assert card(body, admin_card) == ""
    mine = card(body, "card-my-contacts")
    assert "Membercontact" in mine
    assert "1 contact you can see" in mine
    recent = card(body, "card-recent-records")
    assert "Membercontact" in recent and "Acme Shared" in recent
    assert "Bosscontact" not in body


def test_dash_empty_org_invites_to_start(client_admin_a, org_a):
    """Empty states say what to do next."""
    body = client_admin_a.get(home(org_a)).content.decode()
    assert "You own no contacts yet." in body
    assert f"/o/{org_a.slug}/contacts/new/" in body
    assert "No imports yet." in body and f"/o/{org_a.slug}/users/import/" in body
    assert "No records changed yet." in body


def test_dash_no_internal_words(client_admin_a, busy_org):
    """Issue 11: nothing of workers, outboxes or relays where a user looks."""
    body = client_admin_a.get(home(busy_org)).content.decode().lower()
    for word in ("worker", "outbox", "relay", "queued"):
        assert word not in body


def test_dash_japanese_viewer_reads_japanese(client_admin_a, busy_org, admin_a):
    """X-1: the cards, the import status and the audit sentence in the viewer's language."""
    User.objects.filter(pk=admin_a.user_id).update(language="ja")
    body = client_admin_a.get(home(busy_org)).content.decode()
    assert "役職を Manager から Sales に変更しました。" in card(body, "card-audit")
    assert "開始しています…" in card(body, "card-imports")
    assert "ユーザーとライセンス" in card(body, "card-people")
    for english in ("Role changed from", "Recent imports", "Starting…", "My contacts"):
        assert english not in body


@pytest.mark.parametrize("count", [2, 20])
def test_dash_query_count_does_not_grow(
    client_admin_a, org_a, admin_a, member_a, count, django_assert_max_num_queries
):
    """The dashboard reads a bounded number of rows, however much the org holds."""
    with scopes_disabled():
        for i in range(count):
            ContactFactory(org=org_a, owner=admin_a if i % 2 else member_a)
            Account.objects.create(org=org_a, name=f"Account {i}", owner=member_a)
            audit_log_write(org=org_a, actor=admin_a, action="user.reinvited", target=member_a)
            UserImport.objects.create(
                org=org_a, created_by=admin_a, filename=f"{i}.csv", file_format="csv"
            )
    with django_assert_max_num_queries(12):
        response = client_admin_a.get(home(org_a))
    assert response.status_code == 200


def test_dash_outsider_gets_404_and_post_405(client_admin_b, client_admin_a, org_a):
    assert client_admin_b.get(home(org_a)).status_code == 404
    assert client_admin_a.post(home(org_a)).status_code == 405
