"""Inviting a contact to a portal in a browser (POR-3, POR-4): the admin opens the contact,
chooses the portal's user group and the language, sends; the portal's Users tab shows the
contact as "Invitation not accepted" with its delivery state (a real DeliveryAttempt)."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from portals.models import PortalUser
from tests.e2e.test_signup import sign_in
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.records.factories import ContactFactory

pytestmark = [pytest.mark.browser]


def test_por3_por4_admin_invites_a_contact_and_sees_it_pending_on_the_users_tab(
    page, live_server, admin_a, org_a
):
    with scopes_disabled():
        portal = PortalFactory(org=org_a, name="Help centre", slug="help", languages=["en", "ja"])
        UserGroupFactory(portal=portal, name="Customers")
        contact = ContactFactory(
            org=org_a, first_name="Yuki", last_name="Tanaka", email="yuki@example.jp", language="ja"
        )
    sign_in(page, live_server, admin_a.email)
    page.goto(f"{live_server.url}/o/{org_a.slug}/contacts/{contact.pk}/")
    page.get_by_text("Invite to portal").click()
    form = page.locator("#portal-invite")
    form.get_by_label("Portal and user group").select_option(label="Help centre — Customers")
    expect(form.get_by_label("Language")).to_have_value("ja")  # the contact's language
    form.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("Yuki Tanaka was invited to Help centre.")).to_be_visible()

    page.goto(f"{live_server.url}/o/{org_a.slug}/portals/{portal.pk}/users/")
    row = page.locator("tr", has_text="yuki@example.jp")
    expect(row).to_contain_text("Invitation not accepted")
    # The test settings run the delivery task at once: the attempt is recorded as sent.
    expect(row.locator("[data-delivery]")).to_have_attribute("data-delivery", "sent")
    expect(page.locator("#portal-user-tabs [data-status='invited'] .count")).to_have_text("1")
    with scopes_disabled():
        assert PortalUser.objects.get(contact=contact).language == "ja"
