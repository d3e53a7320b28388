"""The whole invitation in a browser (USR-3, USR-4): an admin adds a user, the invitation
arrives in a real SMTP server, the invitee follows the link, signs up with the invited address
fixed, joins, and the admin sees them as Active."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_signup import sign_in

pytestmark = pytest.mark.browser


def invitation_link(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/invite/[^/\s]+/", body).group(0)


def test_usr4_invite_email_link_signup_joined_and_active(
    browser, page, live_server, smtp_sink, settings, admin_a, org_a
):
    settings.SITE_URL = live_server.url
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/users/")
    expect(page.locator("#licences")).to_contain_text("1 of 3 used · 2 free")
    page.get_by_role("link", name="Add user").click()
    page.get_by_label("First name").fill("Kenji")
    page.get_by_label("Last name").fill("Sato")
    page.get_by_label("Email address").fill("kenji@example.jp")
    page.get_by_label("Role").select_option(label="Manager")
    page.get_by_label("Profile").select_option(label="Standard")
    page.get_by_role("button", name="Add and invite").click()
    expect(page.locator(".messages")).to_contain_text("Invitation sent to kenji@example.jp.")
    expect(page.locator("#member-status")).to_have_text("Unconfirmed")

    link = invitation_link(smtp_sink.wait_for_message_to("kenji@example.jp"))
    assert "kenji" not in link

    invitee = browser.new_context(locale="en-GB").new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Join Alpha Corp")
    invitee.get_by_role("button", name="Create an account").click()
    invitee.wait_for_url(f"{live_server.url}/accounts/signup/")
    email_field = invitee.get_by_label("Email")
    expect(email_field).to_have_value("kenji@example.jp")
    expect(email_field).to_have_attribute("readonly", "")
    expect(invitee.get_by_label("Organisation name")).to_have_count(0)
    invitee.get_by_label("First name").fill("Kenji")
    invitee.get_by_label("Last name").fill("Sato")
    invitee.get_by_label("Password:", exact=True).fill("a-long-and-unusual-passphrase")
    invitee.get_by_label("Password (again)").fill("a-long-and-unusual-passphrase")
    invitee.get_by_role("button", name="Sign Up").click()

    invitee.wait_for_url(f"{live_server.url}/invite/continue/")
    invitee.get_by_role("button", name="Join Alpha Corp").click()
    invitee.wait_for_url(f"{live_server.url}/o/{org_a.slug}/")
    expect(invitee.locator(".messages")).to_contain_text("Welcome to Alpha Corp!")
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Alpha Corp")
    invitee.context.close()

    page.goto(f"{live_server.url}/o/{org_a.slug}/users/?status=active")
    row = page.get_by_role("row", name=re.compile("Kenji Sato"))
    expect(row).to_contain_text("kenji@example.jp")
    expect(page.locator("#licences")).to_contain_text("2 of 3 used · 1 free")
    page.get_by_role("link", name="Kenji Sato").click()
    expect(page.locator("#member-status")).to_have_text("Active")
