"""Issue 11, X-1: at phone width (390×844) the header's navigation collapses into a "Menu"
button, and every item — the org's pages and the account menu's — is reached through it."""

import re

import pytest
from playwright.sync_api import expect

from tests.demo import demo_org_create
from tests.e2e.test_signup import assert_fits_phone, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
MAIN_ITEMS = ["Home", "Contacts", "Accounts", "Users", "Settings", "Audit log"]
ACCOUNT_ITEMS = [
    "My details",
    "Email addresses",
    "Password",
    "Two-factor authentication",
    "Sessions",
]


@pytest.fixture
def demo(transactional_db):
    return demo_org_create()


def open_menu(page):
    toggle = page.locator("[data-menu-toggle]")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")


def follow(page, link):
    """Click a menu item and wait for its page: the URL it named, and a heading."""
    href = link.get_attribute("href")
    link.click()
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"\S"))
    assert_fits_phone(page)


@pytest.mark.parametrize("viewport", [PHONE])
def test_x1_issue11_collapsed_menu_reaches_every_navigation_item_at_390px(page, live_server, demo):
    """X-1, issue 11: the navigation is hidden behind "Menu" at 390 px; the menu opens and
    closes from the keyboard and each of its items — main and account menu — loads its page."""
    sign_in(page, live_server, demo.email, demo.password)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()

    toggle = page.get_by_role("button", name="Menu")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(toggle).to_be_focused()

    for name in MAIN_ITEMS:
        open_menu(page)
        follow(page, nav.get_by_role("link", name=name, exact=True))
        expect(page.locator(".mainnav a[aria-current=page]")).to_have_text(name)

    for name in ACCOUNT_ITEMS:
        open_menu(page)
        page.locator(".account-menu > summary").click()
        follow(page, page.locator(".account-menu").get_by_role("link", name=name, exact=True))
        # The account pages keep the org's navigation.
        open_menu(page)
        expect(nav.get_by_role("link", name="Contacts", exact=True)).to_be_visible()
        page.get_by_role("button", name="Menu").click()

    open_menu(page)
    page.locator(".account-menu > summary").click()
    page.locator(".account-menu").get_by_role("button", name="Sign out").click()
    open_menu(page)
    sign_in_link = page.locator(".site-menu").get_by_role("link", name="Sign in", exact=True)
    expect(sign_in_link).to_be_visible()
