"""Changing a portal user's email address in a browser (POR-5): the admin uses "Change email
address" on the portal's Users tab; the confirmation reaches the new address through a real
SMTP server; the person follows it and signs in to the portal with the new address."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from portals.models import PortalUser
from tests.e2e.test_signup import sign_in
from tests.portals.factories import PortalFactory, PortalUserFactory, UserGroupFactory
from tests.records.factories import ContactFactory
from tests.users.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser]
CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/portal/[^/\s]+/email/[^/\s]+/)")


def test_por5_admin_changes_the_address_and_the_person_confirms_it(
    page, browser, live_server, admin_a, org_a, smtp_sink
):
    with scopes_disabled():
        portal = PortalFactory(org=org_a, name="Help centre", slug="help", languages=["en"])
        group = UserGroupFactory(portal=portal, name="Customers")
        contact = ContactFactory(org=org_a, first_name="Paula", email="old@example.com")
        PortalUserFactory(
            group=group,
            contact=contact,
            user=UserFactory(email="old@example.com"),
            status=PortalUser.Status.ACTIVE,
        )
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/portals/{portal.pk}/users/")
    row = page.locator("tr", has_text="old@example.com")
    row.get_by_role("link", name="Change email address").click()
    page.get_by_label("New email address").fill("new@example.com")
    page.get_by_role("button", name="Change email address").click()
    expect(page.get_by_text("A confirmation was sent to new@example.com.")).to_be_visible()
    expect(page.locator("tr", has_text="old@example.com")).to_contain_text("Login pending")

    message = smtp_sink.wait_for_message_to("new@example.com")
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = CONFIRM_LINK.search(text).group(1)

    person = browser.new_context().new_page()
    person.goto(f"{live_server.url}{link}")
    person.get_by_role("button", name="Confirm the email address").click()
    expect(person.get_by_text("Sign in with new@example.com from now on.")).to_be_visible()
    person.get_by_label("Email").fill("new@example.com")
    person.get_by_label("Password").fill(PASSWORD)
    person.get_by_role("button", name="Sign in").click()
    expect(person).to_have_url(f"{live_server.url}/portal/help/")
    person.context.close()
