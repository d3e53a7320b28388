"""Issue 11, bug 5 (REC-4): the "token created" page shows the whole token and a curl command
that can be pasted and run as it is, and nothing overflows its card, on a phone too."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.test_signup import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}]
)
def test_rec4_created_token_page_shows_the_whole_token_and_a_runnable_command(
    page, live_server, admin_a, org_a
):
    sign_in(page, live_server, admin_a.email)
    expect(page).to_have_url(re.compile(rf"/o/{org_a.slug}/$"))  # signed in, at any width
    page.goto(live_server.url + reverse("api_token_create", kwargs={"org_slug": org_a.slug}))
    page.get_by_label("Name").fill("Website")
    page.get_by_role("button", name="Create token").click()
    secret_field = page.locator("#api-token-secret")
    expect(secret_field).to_have_value(re.compile(r"^crm_[\w-]{43}$"))
    secret = secret_field.input_value()
    example = page.locator("#api-token-example")
    expect(example).to_contain_text(f"Authorization: Bearer {secret}")
    card = page.locator(".card").first
    overflowing = card.evaluate(
        "card => [card, ...card.querySelectorAll('*')].filter("
        "el => el.tagName !== 'INPUT' && el.scrollWidth > el.clientWidth + 1"
        ").map(el => el.tagName + '#' + el.id)"
    )
    assert overflowing == []  # an input scrolls its own text; it must fit the card (below)
    box, field = card.bounding_box(), secret_field.bounding_box()
    assert field["x"] + field["width"] <= box["x"] + box["width"] + 1
