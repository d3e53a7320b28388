"""Issue 11 bug 2 (ORG-7): an administrator renames the organisation from its settings page in
Chromium and sees the new name at once; the slug moves the pages to their new address."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.test_signup import sign_in

pytestmark = pytest.mark.browser


def test_org7_rename_the_organisation_and_see_it_in_the_header(page, live_server, admin_a, org_a):
    sign_in(page, live_server, admin_a.email)
    page.get_by_role("link", name="Organisation", exact=True).click()
    expect(page.get_by_role("heading", name="Organisation settings")).to_be_visible()
    name_section = page.locator("#settings-name")
    name_section.get_by_label("Organisation name").fill("Alpha Holdings")
    name_section.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Name saved.")).to_be_visible()
    expect(page.locator("header .org-name")).to_have_text("Alpha Holdings")
    expect(page).to_have_title(re.compile("Alpha Holdings"))


def test_org7_a_refused_address_keeps_what_was_typed(page, live_server, admin_a, org_a, org_b):
    sign_in(page, live_server, admin_a.email)
    page.goto(live_server.url + reverse("org_settings", kwargs={"org_slug": org_a.slug}))
    address = page.locator("#settings-address")
    address.get_by_label("Web address").fill("beta")
    address.get_by_role("button", name="Save").click()
    expect(address.get_by_text("This address is taken. Choose another one.")).to_be_visible()
    expect(page.locator("#settings-address").get_by_label("Web address")).to_have_value("beta")
    address = page.locator("#settings-address")
    address.get_by_label("Web address").fill("alpha-holdings")
    address.get_by_role("button", name="Save").click()
    expect(page).to_have_url(live_server.url + "/o/alpha-holdings/settings/")


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}])
def test_org7_settings_page_fits_a_phone_and_renames(page, live_server, admin_a, org_a):
    """At 390 px the page reaches the settings by its address (the phone menu is the shell's
    to test); no section is wider than the screen, and renaming works there too."""
    sign_in(page, live_server, admin_a.email)
    page.goto(live_server.url + reverse("org_settings", kwargs={"org_slug": org_a.slug}))
    name_section = page.locator("#settings-name")
    name_section.get_by_label("Organisation name").fill("Alpha Mobile")
    name_section.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Name saved.")).to_be_visible()
    expect(page).to_have_title(re.compile("Alpha Mobile"))
    too_wide = page.evaluate(
        "() => [...document.querySelectorAll('.org-settings .card')]"
        ".filter(card => card.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(card => card.id)"
    )
    assert too_wide == []
