"""Screenshots of the main pages for review (issue 11, X-1): English and Japanese at desktop
width, English at phone width, written to test-results/screenshots/<lang>-<width>-<page>.png.
Each shot is taken once the page's heading is visible."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from tests.demo import demo_org_create
from tests.e2e.test_signup import sign_in

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(settings.BASE_DIR) / "test-results" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def main_pages(demo) -> dict[str, str]:
    """Page name -> URL of the main pages of the demo org."""
    org = {"org_slug": demo.org.slug}
    return {
        "dashboard": reverse("dashboard", kwargs=org),
        "contacts": reverse("contact_list", kwargs=org),
        "contact": reverse("contact_detail", kwargs={**org, "contact_pk": demo.first_contact().pk}),
        "contact-form": reverse("contact_create", kwargs=org),
        "accounts": reverse("account_list", kwargs=org),
        "users": reverse("user_list", kwargs=org),
        "user": reverse("user_detail", kwargs={**org, "user_pk": demo.admin.pk}),
        "audit-log": reverse("audit_log", kwargs=org),
        "imports": reverse("contact_import_history", kwargs=org),
        "api-tokens": reverse("api_token_list", kwargs=org),
        "account-email": reverse("account_email"),
        "sessions": reverse("usersessions_list"),
    }


@pytest.fixture
def demo(transactional_db):
    return demo_org_create()


@pytest.mark.parametrize(
    ("language", "viewport"),
    [("en", DESKTOP), ("ja", DESKTOP), ("en", PHONE)],
    ids=["en-desktop", "ja-desktop", "en-phone"],
)
def test_x1_screenshots_of_the_main_pages(page, live_server, demo, language, viewport):
    """X-1, issue 11: each main page shows its heading in the chosen language and width, and
    its screenshot is written for review."""
    user = demo.admin.user
    user.language = language
    user.save(update_fields=["language"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server, demo.email, demo.password)
    for name, url in main_pages(demo).items():
        page.goto(live_server.url + url)
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        path = SCREENSHOTS / f"{language}-{viewport['width']}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0, path
    if viewport == PHONE:  # the collapsed navigation, opened
        page.get_by_role("button", name="Menu").click()
        page.locator(".account-menu > summary").click()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / f"{language}-{viewport['width']}-menu.png"))
