"""Issue 12 Deliver 4 in Chromium (POR-7, POR-2, POR-1, X-1): a portal user signs in at the
portal's own address, sees its name, exactly their records with the group's fields, edits an
editable field, cannot open another contact's page; the same pages in Japanese."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from records.models import Contact
from tests.portals.site_world import PASSWORD, group_modules, make_world

pytestmark = pytest.mark.browser


@pytest.fixture
def world(db):
    return make_world(group_modules("related", actions=("view", "edit")))


def portal_sign_in(page, live_server, world):
    page.goto(f"{live_server.url}{world.url()}")
    expect(page).to_have_url(re.compile(re.escape(world.url("sign-in/"))))
    page.locator("#id_login").fill(world.portal_user.user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit].primary").click()
    expect(page).to_have_url(f"{live_server.url}{world.url()}")
    # The URL changes when the navigation commits; the language switch's script (deferred)
    # runs by the load event.
    page.wait_for_load_state("load")


def test_por7_portal_user_signs_in_sees_their_slice_edits_and_meets_404(page, live_server, world):
    portal_sign_in(page, live_server, world)
    expect(page.locator("#portal-name")).to_have_text("Acme Help Centre")
    expect(page.get_by_role("heading", name="Welcome to Acme Help Centre")).to_be_visible()

    page.locator(".portal-nav").get_by_role("link", name="Contacts").click()
    rows = page.locator("table.portal-list tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table.portal-list")).to_contain_text("Portal")
    expect(page.locator("table.portal-list")).to_contain_text("Colleague")
    expect(page.locator("table.portal-list")).not_to_contain_text("Stranger")
    headers = page.locator("table.portal-list thead th")
    expect(headers).to_have_text(["First name", "Last name", "Email", "Phone"])

    page.locator("table.portal-list").get_by_role("link", name="Paula", exact=True).click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Phone").fill("+81 3 1234 5678")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("dd[data-field=phone]")).to_have_text("+81 3 1234 5678")
    with scopes_disabled():
        assert Contact.objects.get(pk=world.me.pk).phone == "+81 3 1234 5678"

    response = page.goto(f"{live_server.url}{world.url(f'contacts/{world.stranger.pk}/')}")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Stranger")


def test_por7_x1_the_same_pages_in_japanese(page, live_server, world):
    portal_sign_in(page, live_server, world)
    page.locator("#portal-lang").select_option("ja")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#portal-name")).to_have_text("Acme Help Centre")
    page.locator(".portal-nav").get_by_role("link", name="連絡先").click()
    expect(page.locator("table.portal-list tbody tr")).to_have_count(2)
    expect(page.locator("table.portal-list thead th").nth(3)).to_have_text("電話番号")
    response = page.goto(f"{live_server.url}{world.url(f'contacts/{world.stranger.pk}/')}")
    assert response.status == 404
    expect(page.get_by_role("heading", name="ページが見つかりません")).to_be_visible()
