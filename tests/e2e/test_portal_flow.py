"""Issue 12's browser test (POR-1 … POR-4, POR-6, POR-7, X-1) in Chromium with a real SMTP
sink: an admin creates a portal and a user group, invites a contact from its page; the mail
arrives; the contact follows its link, signs up with the invited address fixed, lands on the
portal and sees exactly their own record with the group's fields (not a field it hides), and
another contact's portal page is the portal's 404. A contact whose language is Japanese gets
the Japanese mail and Japanese portal pages. Screenshots go to test-results/ for review."""

import re
from pathlib import Path

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from tests.e2e.test_signup import sign_in
from tests.records.factories import ContactFactory

pytestmark = pytest.mark.browser

SHOTS = Path("test-results")
PASSPHRASE = "a-long-and-unusual-passphrase"


def mail_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def invitation_link(message) -> str:
    return re.search(r"https?://\S+/invite/[^/\s]+/", mail_text(message)).group(0)


def create_portal_and_group(page, live_server):
    """POR-1, POR-2 through the admin's pages: portal "Help centre" at /portal/helpdesk/ in English
    and Japanese; group "Customers" sharing contacts: view, their own record, some fields."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Portals").click()
    page.get_by_role("link", name="Create a portal").first.click()
    page.get_by_label("Name").fill("Help centre")
    page.get_by_label("Web address").fill("helpdesk")
    page.get_by_role("checkbox", name="English").check()
    page.get_by_role("checkbox", name="Japanese").check()
    page.get_by_label("Default language").select_option("en")
    page.get_by_role("button", name="Create portal").click()
    expect(page.locator("#portal-address")).to_have_text(f"{live_server.url}/portal/helpdesk/")

    page.get_by_role("link", name="User groups").click()
    page.get_by_role("link", name="New user group").click()
    page.get_by_role("textbox", name="Name").fill("Customers")
    contacts = page.locator("#module-contacts")
    contacts.get_by_label("Share Contacts in this portal").check()
    contacts.get_by_role("group", name="Actions").get_by_label("View").check()
    contacts.get_by_role("group", name="Actions").get_by_label("Add notes").check()
    contacts.get_by_role("radiogroup", name="Which records").get_by_label(
        "Their own contact"
    ).check()
    shown = contacts.get_by_role("group", name="Fields shown")
    for label in ("First name", "Last name", "Email"):
        shown.get_by_label(label, exact=True).check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#groups")).to_contain_text("Customers")


def invite_from_contact_page(page, live_server, org, contact, name):
    page.goto(f"{live_server.url}/o/{org.slug}/contacts/{contact.pk}/")
    page.get_by_text("Invite to portal").click()
    form = page.locator("#portal-invite")
    form.get_by_label("Portal and user group").select_option(label="Help centre — Customers")
    expect(form.get_by_label("Language")).to_have_value(contact.language)
    form.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text(f"{name} was invited to Help centre.")).to_be_visible()


def sign_up_from_link(browser, live_server, link, email, first, last):
    """The contact follows the mailed link, signs up with the address fixed, accepts and
    lands on the portal. Returns their page (an English browser)."""
    person = browser.new_context(locale="en-GB").new_page()
    person.goto(link)
    person.get_by_role("button", name="Create an account").click()
    person.wait_for_url(f"{live_server.url}/accounts/signup/")
    email_field = person.get_by_label("Email")
    expect(email_field).to_have_value(email)
    expect(email_field).to_have_attribute("readonly", "")
    person.get_by_label("First name").fill(first)
    person.get_by_label("Last name").fill(last)
    person.get_by_label("Password:", exact=True).fill(PASSPHRASE)
    person.get_by_label("Password (again)").fill(PASSPHRASE)
    person.get_by_role("button", name="Sign Up").click()
    person.wait_for_url(f"{live_server.url}/invite/continue/")
    expect(person.get_by_role("heading", level=1)).to_have_text("Join Help centre")
    person.locator("#accept-invitation").click()
    person.wait_for_url(f"{live_server.url}/portal/helpdesk/")
    return person


def test_por1_to_por7_x1_admin_sets_up_a_portal_invites_and_contacts_use_it_in_en_and_ja(
    browser, page, live_server, smtp_sink, settings, admin_a, org_a
):
    settings.SITE_URL = live_server.url
    SHOTS.mkdir(exist_ok=True)
    with scopes_disabled():
        emma = ContactFactory(
            org=org_a,
            first_name="Emma",
            last_name="Brown",
            email="emma@example.co.uk",
            phone="+44 20 7946 0001",
            language="en",
        )
        yuki = ContactFactory(
            org=org_a,
            first_name="Yuki",
            last_name="Tanaka",
            email="yuki@example.jp",
            phone="+81 3 5555 0002",
            language="ja",
        )
        stranger = ContactFactory(
            org=org_a, first_name="Stranger", last_name="Danger", email="s@example.net"
        )

    sign_in(page, live_server, admin_a.email)
    create_portal_and_group(page, live_server)
    invite_from_contact_page(page, live_server, org_a, emma, "Emma Brown")
    invite_from_contact_page(page, live_server, org_a, yuki, "Yuki Tanaka")

    # English: the mail, the sign-up, the portal.
    message = smtp_sink.wait_for_message_to("emma@example.co.uk")
    assert "Help centre" in message["Subject"]
    emma_page = sign_up_from_link(
        browser, live_server, invitation_link(message), "emma@example.co.uk", "Emma", "Brown"
    )
    expect(emma_page.locator("#portal-name")).to_have_text("Help centre")
    emma_page.locator(".portal-nav").get_by_role("link", name="Contacts").click()
    table = emma_page.locator("table.portal-list")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("thead th")).to_have_text(["First name", "Last name", "Email"])
    expect(table).to_contain_text("emma@example.co.uk")
    expect(emma_page.locator("body")).not_to_contain_text("Stranger")
    table.get_by_role("link", name="Emma", exact=True).click()
    expect(emma_page.locator("dd[data-field=email]")).to_have_text("emma@example.co.uk")
    expect(emma_page.locator("dd[data-field=phone]")).to_have_count(0)
    expect(emma_page.locator("body")).not_to_contain_text("+44 20 7946 0001")
    emma_page.get_by_label("New note").fill("Please call me about the renewal.")
    emma_page.get_by_role("button", name="Add note").click()
    expect(emma_page.locator("#portal-notes .note-body")).to_have_text(
        "Please call me about the renewal."
    )
    emma_page.screenshot(path=str(SHOTS / "portal-flow-en.png"), full_page=True)
    response = emma_page.goto(f"{live_server.url}/portal/helpdesk/contacts/{stranger.pk}/")
    assert response.status == 404
    expect(emma_page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(emma_page.locator("body")).not_to_contain_text("Stranger")
    emma_page.screenshot(path=str(SHOTS / "portal-flow-en-404.png"), full_page=True)
    emma_page.context.close()

    # Japanese: the contact's language chose the mail and the portal's pages.
    message = smtp_sink.wait_for_message_to("yuki@example.jp")
    assert message["Subject"] == "Help centre への招待"
    assert "招待を承諾する" in mail_text(message)
    yuki_page = sign_up_from_link(
        browser, live_server, invitation_link(message), "yuki@example.jp", "Yuki", "Tanaka"
    )
    expect(yuki_page.locator("html")).to_have_attribute("lang", "ja")
    expect(yuki_page.locator("#portal-name")).to_have_text("Help centre")
    yuki_page.locator(".portal-nav").get_by_role("link", name="連絡先").click()
    table = yuki_page.locator("table.portal-list")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("yuki@example.jp")
    expect(table.locator("thead th")).to_have_text(["姓", "名", "メール"])  # family name first
    expect(yuki_page.locator("body")).not_to_contain_text("+81 3 5555 0002")
    yuki_page.screenshot(path=str(SHOTS / "portal-flow-ja.png"), full_page=True)
    response = yuki_page.goto(f"{live_server.url}/portal/helpdesk/contacts/{stranger.pk}/")
    assert response.status == 404
    expect(yuki_page.get_by_role("heading", name="ページが見つかりません")).to_be_visible()
    yuki_page.screenshot(path=str(SHOTS / "portal-flow-ja-404.png"), full_page=True)
    yuki_page.context.close()

    # The admin sees the portal user's note on the contact's CRM page.
    page.goto(f"{live_server.url}/o/{org_a.slug}/contacts/{emma.pk}/")
    expect(page.locator("#record-notes")).to_contain_text("Please call me about the renewal.")
