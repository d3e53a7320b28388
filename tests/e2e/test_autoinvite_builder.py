"""AUT-1 … AUT-4 in a browser: an administrator builds a two-language auto-invite rule with
common conditions in the condition builder — rows added and removed without a page load, each
field offering only its operators and a value widget of its type, the criteria pattern checked
while typed, the languages reordered — saves it and finds it again after a reload; the tab
reads in Japanese."""

import pytest
from django.utils import translation
from django.utils.translation import gettext
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from portals.models import AutoInviteRule
from records.models import CustomField
from tests.e2e.test_signup import sign_in
from tests.portals.factories import PortalFactory, UserGroupFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def portal(org_a):
    with scopes_disabled():
        CustomField.objects.create(
            org=org_a, module="contacts", key="seats", label="Seats", field_type="number"
        )
        portal = PortalFactory(org=org_a, name="Help centre", languages=["en", "ja"])
        UserGroupFactory(portal=portal, name="Customers")
        return portal


def _no_reload_marker(page):
    """A property on the window: a full page load would drop it."""
    page.evaluate("window.__builderMarker = 1")


def _settled(page):
    """htmx has swapped the editor and bound its new elements: a person cannot act faster
    than that, a test can."""
    busy = page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    expect(busy).to_have_count(0)


def _still_same_page(page):
    assert page.evaluate("window.__builderMarker") == 1


def test_aut1_aut4_build_a_two_language_rule_by_keyboard_and_mouse(
    page, live_server, admin_a, org_a, portal
):
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/portals/{portal.pk}/")
    page.get_by_role("link", name="Auto-invite").click()
    _no_reload_marker(page)

    page.locator("#id_trigger").select_option("create")
    page.locator("#id_group").select_option(label="Customers")
    page.get_by_label("Several languages, each with its own conditions").check()

    # Common: a row added with the keyboard, then its field chosen: only number operators
    page.locator("#common-add").focus()
    page.keyboard.press("Enter")
    _settled(page)
    field = page.get_by_label("Field of condition 1").first
    expect(field).to_be_visible()
    _still_same_page(page)
    field.focus()
    field.select_option("seats")
    _settled(page)
    operator = page.locator("#common-0-op")
    expect(operator.locator("option[value='between']")).to_have_count(1)
    expect(operator.locator("option[value='contains']")).to_have_count(0)
    expect(page.locator("#common-0-field")).to_be_focused()  # focus survives the swap
    operator.select_option("between")
    _settled(page)
    expect(page.locator("#common-0-value2")).to_be_visible()
    page.locator("#common-0-value").fill("1")
    page.locator("#common-0-value2").fill("50")

    # a second common row: Subscription is a picklist, its value a choice
    page.locator("#common-add").click()
    _settled(page)
    page.locator("#common-1-field").select_option("subscription")
    _settled(page)
    expect(page.locator("#common-1-value")).to_have_js_property("tagName", "SELECT")
    page.locator("#common-1-value").select_option("paid")
    # a third one, removed again without a page load
    page.locator("#common-add").click()
    _settled(page)
    page.locator("#common-2-remove").click()
    _settled(page)
    expect(page.locator("#common-2-field")).to_have_count(0)
    _still_same_page(page)

    # the pattern is checked while typed
    pattern = page.get_by_label("Criteria pattern").first
    pattern.fill("1 and 3")
    expect(page.locator("#common-pattern-check")).not_to_be_empty()
    pattern.fill("1 and 2")
    expect(page.locator("#common-pattern-check")).to_be_empty()

    # Languages: Japanese first, with its own condition; English for everyone else
    page.get_by_label("Invite in Japanese").check()
    page.get_by_label("Invite in English").check()
    page.get_by_role("button", name="Move Japanese up").click()
    _settled(page)
    expect(page.locator(".language-block").first).to_have_id("lang-ja-block")
    page.locator("#lang-ja-add").click()
    _settled(page)
    page.locator("#lang-ja-0-field").select_option("country")
    _settled(page)
    page.locator("#lang-ja-0-value").fill("JP")
    _still_same_page(page)

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Auto-invite settings saved.")).to_be_visible()

    with scopes_disabled():
        rule = AutoInviteRule.objects.get(portal=portal)
    assert rule.trigger == "create" and rule.language_mode == "multiple"
    assert [e["language"] for e in rule.languages] == ["ja", "en"]
    assert rule.common_conditions["conditions"][0] == {
        "field": "seats",
        "op": "between",
        "value": [1, 50],
    }
    assert rule.common_conditions["pattern"] == "1 and 2"

    page.reload()
    expect(page.locator("#common-0-value2")).to_have_value("50")
    expect(page.locator("#lang-ja-0-value")).to_have_value("JP")
    expect(page.locator(".language-block").first).to_have_id("lang-ja-block")


def test_aut1_auto_invite_tab_in_japanese(page, live_server, admin_a, org_a, portal):
    with scopes_disabled():
        user = admin_a.user
        user.language = "ja"
        user.save(update_fields=["language"])
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/portals/{portal.pk}/auto-invite/")
    expect(page.get_by_role("link", name="自動招待")).to_be_visible()
    with translation.override("ja"):
        common = gettext("Common conditions")
    assert common != "Common conditions"
    expect(page.get_by_text(common, exact=True)).to_be_visible()
    page.locator("#common-add").click()
    _settled(page)
    expect(page.get_by_label("条件 1 の項目").first).to_be_visible()
