"""X-7 in a real browser: Chromium enforces the Content-Security-Policy on the main pages and
reports no violation — no inline script, handler or style slips through — and the language
picker, whose inline handler became a static script, still switches the UI."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from tests.e2e.test_signup import sign_in
from tests.records.factories import ContactFactory

pytestmark = pytest.mark.browser

# Every securitypolicyviolation the document sees, in order.
COLLECT_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
# A violation we cause on purpose: an image from a host the policy doesn't allow. It is
# blocked before any request, and its report queues behind any the page caused itself.
SENTINEL = "https://sentinel.invalid/csp.png"


def violations_on(page, url: str) -> list[str]:
    """Open `url` and return the violations it caused, waiting on an explicit signal: our own
    sentinel violation arrives after every earlier one."""
    page.goto(url)
    page.wait_for_load_state("load")
    page.evaluate(f"() => {{ const i = new Image(); i.src = {SENTINEL!r}; }}")
    page.wait_for_function(f"() => window.cspViolations.some((v) => v.includes({SENTINEL!r}))")
    return [v for v in page.evaluate("window.cspViolations") if SENTINEL not in v]


def test_x7_main_pages_cause_no_csp_violation(page, live_server, admin_a, org_a):
    """X-7: sign-in, sign-up, the dashboard, records, users, imports, settings, audit log,
    the user's details and two-factor set-up each load under the policy with no violation."""
    with scopes_disabled():
        contact = ContactFactory(org=org_a, owner=admin_a)
    page.add_init_script(COLLECT_VIOLATIONS)
    anonymous = ["account_login", "account_signup"]
    for name in anonymous:
        assert violations_on(page, live_server.url + reverse(name)) == [], name

    sign_in(page, live_server, admin_a.email)
    expect(page.get_by_role("link", name="Contacts", exact=True)).to_be_visible()
    org = {"org_slug": org_a.slug}
    pages = [
        reverse("dashboard", kwargs=org),
        reverse("contact_list", kwargs=org),
        reverse("contact_create", kwargs=org),
        reverse("contact_detail", kwargs={**org, "contact_pk": contact.pk}),
        reverse("account_list", kwargs=org),
        reverse("user_list", kwargs=org),
        reverse("user_add", kwargs=org),
        reverse("user_detail", kwargs={**org, "user_pk": admin_a.pk}),
        reverse("user_import_upload", kwargs=org),
        reverse("contact_import_upload", kwargs=org),
        reverse("profile_list", kwargs=org),
        reverse("role_list", kwargs=org),
        reverse("territory_list", kwargs=org),
        reverse("custom_field_list", kwargs=org),
        reverse("api_token_list", kwargs=org),
        reverse("audit_log", kwargs=org),
        reverse("my_details", kwargs=org),
        reverse("account_email"),
        reverse("mfa_activate_totp"),
    ]
    for url in pages:
        assert violations_on(page, live_server.url + url) == [], url


def test_x7_the_sentinel_proves_violations_are_seen(page, live_server):
    """The check above can fail: a resource the policy forbids is reported."""
    page.add_init_script(COLLECT_VIOLATIONS)
    page.goto(live_server.url + reverse("account_login"))
    page.evaluate(
        "() => { const s = document.createElement('script'); "
        "s.textContent = 'window.inlineRan = true'; document.body.append(s); }"
    )
    page.wait_for_function("() => window.cspViolations.some((v) => v.startsWith('script-src'))")
    assert page.evaluate("window.inlineRan === undefined"), "an inline script ran"


def test_x1_x7_language_picker_switches_the_ui_without_inline_script(
    page, live_server, admin_a, org_a
):
    """X-1: choosing 日本語 in the top bar sends its form at once (static app.js, no inline
    handler) and the page comes back in Japanese."""
    sign_in(page, live_server, admin_a.email)
    expect(page.get_by_role("link", name="Contacts", exact=True)).to_be_visible()
    page.get_by_label("Language").select_option("ja")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("link", name="連絡先", exact=True)).to_be_visible()
