"""The contacts list in a browser (issue 11, issue 21): the owner filter is a combobox that
searches the server and is used with the keyboard alone; ticking rows brings up the bulk bar,
whose "set owner" is the same kind of picker (REC-3)."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from tests.e2e.test_signup import sign_in
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory

pytestmark = [pytest.mark.browser]


@pytest.fixture
def contacts(org_a, admin_a, member_a):
    with scopes_disabled():
        for n in range(30):  # a crowd of owners, more than a page of results
            CrmUserFactory(org=org_a, first_name="Other", last_name=f"Owner{n:02}")
        ContactFactory(org=org_a, first_name="Mina", last_name="Kato", owner=member_a)
        ContactFactory(org=org_a, first_name="Paul", last_name="Roux", owner=admin_a)


def test_issue21_pick_an_owner_with_the_keyboard_and_filter(
    page, live_server, org_a, admin_a, member_a, contacts
):
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/contacts/")
    owner = page.get_by_role("combobox", name="Owner")
    owner.press_sequentially("memb")
    listbox = page.locator("#f-owner_listbox")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(owner).to_have_attribute("aria-expanded", "true")
    owner.press("ArrowDown")
    expect(listbox.get_by_role("option", name="Mark Member")).to_have_attribute(
        "aria-selected", "true"
    )
    page.screenshot(path="test-results/lists-contacts-owner-picker.png", full_page=True)
    owner.press("Enter")  # chooses; does not send the form
    expect(owner).to_have_value("Mark Member")
    expect(listbox).to_be_hidden()
    owner.press("Enter")  # the list is closed: Enter sends the filter
    expect(page.get_by_role("link", name="Mina Kato")).to_be_visible()
    expect(page.get_by_role("link", name="Paul Roux")).to_have_count(0)
    # The page came back with the chosen owner rendered by the server.
    expect(page.get_by_role("combobox", name="Owner")).to_have_value("Mark Member")

    # Escape closes the list and keeps the choice.
    owner = page.get_by_role("combobox", name="Owner")
    owner.fill("")
    owner.press_sequentially("Other")
    expect(page.locator("#f-owner_listbox").get_by_role("option")).to_have_count(20)
    owner.press("Escape")
    expect(page.locator("#f-owner_listbox")).to_be_hidden()


def test_issue11_select_rows_then_set_their_owner_from_the_bulk_bar(
    page, live_server, org_a, admin_a, member_a, contacts
):
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/contacts/")
    bar = page.get_by_role("region", name="Actions on the selected rows")
    expect(bar).to_be_hidden()
    page.get_by_role("checkbox", name="Select Paul Roux").check()
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("1 selected")
    new_owner = bar.get_by_role("combobox", name="New owner")
    new_owner.press_sequentially("Mark")
    expect(page.locator("#bulk-owner_listbox").get_by_role("option")).to_have_count(1)
    new_owner.press("ArrowDown")
    new_owner.press("Enter")
    expect(new_owner).to_have_value("Mark Member")
    page.screenshot(path="test-results/lists-contacts-bulk-bar.png", full_page=True)
    bar.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("1 contact changed.")).to_be_visible()
    row = page.get_by_role("row", name="Paul Roux")
    expect(row).to_contain_text("Mark Member")
    page.get_by_role("checkbox", name="Select all on this page").check()
    expect(bar).to_contain_text("2 selected")


def test_issue21_x1_owner_picker_searches_after_a_japanese_composition(
    page, live_server, org_a, admin_a, contacts
):
    """With an IME the search waits for the composition to end, then finds the Japanese
    name (X-1)."""
    with scopes_disabled():
        CrmUserFactory(org=org_a, first_name="花子", last_name="加藤")
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/contacts/")
    owner = page.get_by_role("combobox", name="Owner")
    owner.focus()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.imeSetComposition", {"text": "かとう", "selectionStart": 3, "selectionEnd": 3})
    cdp.send("Input.insertText", {"text": "加藤"})  # the composition ends with the kanji
    listbox = page.locator("#f-owner_listbox")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option")).to_contain_text("加藤")
    owner.press("ArrowDown")
    owner.press("Enter")
    expect(owner).to_have_value(re.compile("加藤"))


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}])
def test_issue11_phone_width_keeps_the_important_columns(
    page, live_server, org_a, admin_a, contacts
):
    """At 390 px the name and owner stay; account, subscription, country and date hide."""
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/contacts/")
    expect(page.get_by_role("link", name="Mina Kato")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Owner")).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("columnheader", name="Account")).to_be_hidden()
    expect(page.get_by_role("columnheader", name="Country")).to_be_hidden()
    expect(page.get_by_role("combobox", name="Owner")).to_be_visible()
    page.screenshot(path="test-results/lists-contacts-phone.png", full_page=True)


def test_issue11_all_matching_the_filter_asks_before_changing_them(
    page, live_server, org_a, admin_a, member_a
):
    """Past one page, "select all N matching" changes every match — after a confirmation;
    dismissing it changes nothing (REC-3)."""
    with scopes_disabled():
        ContactFactory.create_batch(27, org=org_a, owner=admin_a, subscription="paid")
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/contacts/?subscription=paid")
    bar = page.get_by_role("region", name="Actions on the selected rows")
    page.get_by_role("checkbox", name="Select all on this page").check()
    expect(bar).to_contain_text("25 selected")
    bar.get_by_label("Select all 27 matching the filter").check()
    expect(bar).to_contain_text("27 selected")
    bar.get_by_label("Set").select_option("subscription")
    bar.get_by_label("New subscription").select_option("free")
    page.once("dialog", lambda dialog: dialog.dismiss())
    bar.get_by_role("button", name="Apply to selected").click()
    expect(bar).to_contain_text("27 selected")  # still here: nothing was sent
    page.once("dialog", lambda dialog: dialog.accept())
    bar.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("27 contacts changed.")).to_be_visible()
