"""An expired portal link in a browser (POR-9, USR-4): the invalid-link page offers "Ask for a
new invitation link"; a wrong address gets the same answer and no mail; the invited address
gets a new mail in a real SMTP sink, whose link opens the invitation. Screenshots go to
test-results/ for review."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from invitations.models import Invitation
from portals.members import portal_user_invite
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.records.factories import ContactFactory

pytestmark = pytest.mark.browser

SHOTS = Path("test-results")
ANSWER = "If this link was sent to that address, a new one is on its way."


def invitation_link(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/invite/[^/\s]+/", body).group(0)


def ask(page, link, email):
    page.goto(link)
    expect(page.get_by_role("heading", name="This invitation link is not valid")).to_be_visible()
    form = page.locator("#invitation-renew")
    form.get_by_label("Your email address").fill(email)
    form.get_by_role("button", name="Send a new link").click()
    expect(page.get_by_text(ANSWER)).to_be_visible()


def test_por9_usr4_an_expired_portal_link_asks_for_a_new_one(
    page, live_server, smtp_sink, settings, admin_a, org_a
):
    settings.SITE_URL = live_server.url
    SHOTS.mkdir(exist_ok=True)
    with scopes_disabled():
        portal = PortalFactory(org=org_a, name="Help centre", slug="helpdesk")
        group = UserGroupFactory(portal=portal, name="Customers")
        contact = ContactFactory(
            org=org_a, first_name="Emma", last_name="Brown", email="emma@example.co.uk"
        )
    with scope(org=org_a):
        portal_user = portal_user_invite(actor=admin_a, portal=portal, contact=contact, group=group)
    old_link = invitation_link(smtp_sink.wait_for_message_to("emma@example.co.uk"))
    with scopes_disabled():
        Invitation.objects.filter(portal_user=portal_user).update(
            expires_at=timezone.now() - timedelta(seconds=1),
            last_sent_at=timezone.now() - timedelta(days=8),
        )
        smtp_sink.messages.clear()

    page.goto(old_link)
    expect(page.locator("#invitation-renew")).to_be_visible()
    page.screenshot(path=str(SHOTS / "portal-expired-link-en.png"), full_page=True)

    # Delivery runs within the request (the test settings' eager task): by the time the
    # answer shows, a mail would be in the sink.
    ask(page, old_link, "someone@example.net")
    assert smtp_sink.messages == []

    ask(page, old_link, "Emma@Example.co.uk")
    page.screenshot(path=str(SHOTS / "portal-expired-link-answer-en.png"), full_page=True)
    message = smtp_sink.wait_for_message_to("emma@example.co.uk")
    new_link = invitation_link(message)
    assert new_link != old_link

    page.goto(new_link)
    expect(page.get_by_role("button", name="Create an account")).to_be_visible()
    page.goto(old_link)
    expect(page.get_by_role("heading", name="This invitation link is not valid")).to_be_visible()
