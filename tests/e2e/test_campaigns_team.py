"""The Campaigns team in a browser (issue 15): invitations arrive in a real SMTP server.
CAM-4: invite → decline → re-invite → decline → the address is blocked, with the reason.
CAM-3: invite → accept → Associated → first visit to Campaigns → Active."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from tests.e2e.test_signup import sign_in
from tests.users.factories import CrmUserFactory, UserFactory

pytestmark = pytest.mark.browser


def invitation_link(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/invite/[^/\s]+/", body).group(0)


def invite_from_team_page(page, live_server, org, email):
    page.goto(f"{live_server.url}/o/{org.slug}/campaigns/team/")
    page.get_by_role("link", name="Invite a member").click()
    page.get_by_label("Email address").fill(email)
    expect(page.get_by_label("Role")).to_have_value(re.compile(r"\d+"))
    page.get_by_role("button", name="Send the invitation").click()


def member_row(page, email):
    return page.locator(f'tr[data-member="{email}"]')


def test_cam4_decline_twice_and_the_address_is_blocked(
    browser, page, live_server, smtp_sink, settings, admin_a, org_a
):
    settings.SITE_URL = live_server.url
    sign_in(page, live_server, admin_a.email)
    invitee = browser.new_context(locale="en-GB").new_page()
    for round_number in (1, 2):
        invite_from_team_page(page, live_server, org_a, "kenji@example.jp")
        expect(page.locator(".messages")).to_contain_text("Invitation sent to kenji@example.jp.")
        expect(member_row(page, "kenji@example.jp")).to_contain_text("Invited")
        smtp_sink.wait_for_message_to("kenji@example.jp")
        link = invitation_link(smtp_sink.messages_to("kenji@example.jp")[-1])
        assert len(smtp_sink.messages_to("kenji@example.jp")) == round_number
        invitee.goto(f"{link}decline/")
        invitee.get_by_role("button", name="Decline").click()
        expect(invitee.locator("#declined")).to_contain_text("You declined the invitation")
        page.goto(f"{live_server.url}/o/{org_a.slug}/campaigns/team/?status=declined")
        expect(member_row(page, "kenji@example.jp")).to_contain_text("Declined")
    invitee.context.close()

    invite_from_team_page(page, live_server, org_a, "kenji@example.jp")
    expect(page.locator("#invite-form")).to_contain_text("declined our invitation twice")
    assert len(smtp_sink.messages_to("kenji@example.jp")) == 2


def test_cam3_accept_associated_then_first_visit_active(
    browser, page, live_server, smtp_sink, settings, admin_a, org_a
):
    settings.SITE_URL = live_server.url
    with scopes_disabled():
        kenji = CrmUserFactory(org=org_a, user=UserFactory(email="kenji@example.jp"))
    sign_in(page, live_server, admin_a.email)
    invite_from_team_page(page, live_server, org_a, "kenji@example.jp")
    expect(page.locator("#seats")).to_contain_text("2 of 5 members")
    link = invitation_link(smtp_sink.wait_for_message_to("kenji@example.jp"))

    invitee = browser.new_context(locale="en-GB").new_page()
    sign_in(invitee, live_server, kenji.email)
    invitee.goto(link)
    invitee.get_by_role("button", name="Accept the invitation").click()
    expect(invitee.locator(".messages")).to_contain_text("Welcome to Alpha Corp!")

    page.goto(f"{live_server.url}/o/{org_a.slug}/campaigns/team/")
    expect(member_row(page, "kenji@example.jp")).to_contain_text("Associated")

    invitee.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    expect(invitee.locator("#campaigns-status")).to_contain_text("Standard User (Active)")
    invitee.context.close()

    page.reload()
    expect(member_row(page, "kenji@example.jp")).to_contain_text("Active")
