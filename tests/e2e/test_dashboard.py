"""Issue 11, Deliver 2 (ORG-5, USR-9, USR-2): an admin's dashboard in Chromium shows the cards
— users and licences, recent imports, recent activity as sentences, their contacts and
recent changes — and a standard member sees only their own part; no internal words."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from records.models import ContactImport
from tests.e2e.test_signup import sign_in
from tests.records.factories import ContactFactory
from users.audit import audit_log_write

pytestmark = pytest.mark.browser


@pytest.fixture
def dashboard_data(org_a, admin_a, member_a):
    with scopes_disabled():
        ContactImport.objects.create(
            org=org_a, created_by=admin_a, filename="leads.csv", file_format="csv", status="queued"
        )
        audit_log_write(
            org=org_a,
            actor=admin_a,
            action="user.access_changed",
            target=member_a,
            details={"before": {"role": "Manager"}, "after": {"role": "Sales"}},
        )
        ContactFactory(org=org_a, owner=member_a, first_name="Yuki", last_name="Mori")


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}]
)
def test_dash_admin_dashboard_shows_the_cards(page, live_server, admin_a, org_a, dashboard_data):
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/")
    expect(page.locator("#card-people")).to_contain_text("Licences: 2 of 3 used · 1 free")
    imports = page.locator("#card-imports")
    expect(imports).to_contain_text("leads.csv")
    expect(imports).to_contain_text("Starting…")
    expect(page.locator("#card-audit")).to_contain_text("Role changed from Manager to Sales.")
    expect(page.locator("#card-recent-records")).to_contain_text("Yuki Mori")
    expect(page.locator("#card-my-contacts")).to_contain_text("You own no contacts yet.")
    expect(page.locator("main, body").first).not_to_contain_text(
        re.compile("worker|outbox|relay", re.IGNORECASE)
    )
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "nothing sideways at this width"
    page.locator("#card-audit").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()


def test_dash_member_sees_only_their_part(page, live_server, member_a, org_a, dashboard_data):
    sign_in(page, live_server, member_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/")
    expect(page.locator("#card-my-contacts")).to_contain_text("Yuki Mori")
    expect(page.locator("#card-people")).to_have_count(0)
    expect(page.locator("#card-audit")).to_have_count(0)
