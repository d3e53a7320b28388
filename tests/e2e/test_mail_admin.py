"""MAIL-1, MAIL-3 in Chromium: an administrator finds a user on the mail add-on's page, locks
their mail settings through the confirmation, and the page then says so and offers Unlock; a
"Don't share" user has no Lock button and the page says why."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from tests.e2e.test_signup import sign_in
from tests.mailoptions.factories import mailbox_of
from tests.users.factories import CrmUserFactory

pytestmark = pytest.mark.browser


def test_mail3_an_admin_locks_a_user_through_the_confirmation(
    page, live_server, admin_a, org_a, member_a
):
    mailbox = mailbox_of(member_a, "share_all")
    with scopes_disabled():
        private = CrmUserFactory(org=org_a, first_name="Priya", last_name="Private")
    mailbox_of(private, "dont_share")
    sign_in(page, live_server, admin_a.email)
    page.goto(live_server.url + reverse("mail_user_list", kwargs={"org_slug": org_a.slug}))

    private_row = page.locator("tr", has_text="Priya Private")
    expect(private_row).to_contain_text("can't be locked")
    expect(private_row.get_by_role("link", name="Lock")).to_have_count(0)

    row = page.locator(f'tr[data-mailbox="{mailbox.pk}"]')
    expect(row).to_contain_text("Not locked")
    row.get_by_role("link", name="Lock").click()
    expect(page.get_by_role("heading")).to_contain_text("Lock the mail settings of Mark Member?")
    page.get_by_role("button", name="Lock").click()

    expect(page.get_by_role("status")).to_contain_text("Mark Member's mail settings are locked.")
    row = page.locator(f'tr[data-mailbox="{mailbox.pk}"]')
    expect(row).to_contain_text("Locked")
    expect(row.get_by_role("link", name="Unlock")).to_be_visible()
