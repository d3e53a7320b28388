"""POR-6 in Chromium: an admin edits a portal's invitation email, inserts a merge field at
the cursor with the picker, watches the live preview follow (sample values, then a real
contact), saves, and sends a test email to themself through a real SMTP server."""

import re

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from tests.e2e.test_signup import sign_in
from tests.portals.factories import PortalFactory
from tests.records.factories import ContactFactory

pytestmark = pytest.mark.browser


def test_por6_edit_insert_merge_field_preview_and_send_a_test(
    page, live_server, smtp_sink, admin_a, org_a
):
    with scopes_disabled():
        portal = PortalFactory(org=org_a, name="Alpha Care", languages=["en", "ja"])
        contact = ContactFactory(org=org_a, first_name="Hana", last_name="Kobayashi", owner=admin_a)
    blocked = []  # the preview lives under the page's CSP and must need nothing more
    page.on("console", lambda m: blocked.append(m.text) if "Security Policy" in m.text else None)
    sign_in(page, live_server, admin_a.email)
    kwargs = {"org_slug": org_a.slug, "portal_pk": portal.pk}
    page.goto(live_server.url + reverse("email_template_list", kwargs=kwargs))
    expect(page.locator("#email-template-warnings")).to_contain_text("日本語")
    page.locator("#email-templates tbody tr").first.get_by_role("link", name="Edit").click()
    expect(page).to_have_url(re.compile(r"/emails/accept_invitation/en/$"))

    frame = page.frame_locator("#email-preview-html")
    page.get_by_label("Subject").fill("Hello {contact_first_name}")
    expect(page.locator("#email-preview-subject")).to_have_text("Hello Alex")

    body = page.get_by_label("Body")
    body.fill("<p>Dear  of {portal_name}</p>")
    body.evaluate("field => field.setSelectionRange(8, 8)")  # between the two spaces
    page.get_by_label("Field", exact=True).select_option("contact_last_name")
    page.get_by_role("button", name="Insert").click()
    expect(body).to_have_value("<p>Dear {contact_last_name} of {portal_name}</p>")
    expect(frame.locator("body")).to_contain_text("Dear Sample of Alpha Care")
    # The layout's style applies in the preview too (the frame keeps the page's CSP).
    expect(frame.locator(".email-button")).to_have_css("display", "inline-block")
    page.get_by_label("Accept control").select_option("link")
    expect(frame.locator(".email-link")).to_have_text("Accept the invitation")
    page.get_by_label("Alignment").select_option("center")
    expect(frame.locator(".email-body")).to_have_css("text-align", "center")

    page.get_by_label("Preview with").select_option(str(contact.pk))
    expect(frame.locator("body")).to_contain_text("Dear Kobayashi of Alpha Care")
    expect(page.locator("#email-preview-subject")).to_have_text("Hello Hana")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The email template was saved.")).to_be_visible()
    expect(page.locator("#email-template-state")).to_contain_text("Customised")

    page.get_by_role("button", name="Send a test email to me").click()
    expect(page.get_by_text(f"A test email is on its way to {admin_a.email}.")).to_be_visible()
    message = smtp_sink.wait_for_message_to(admin_a.email)
    assert message["Subject"] == "Hello Alex"
    assert "Dear Sample of Alpha Care" in message.get_body(("plain",)).get_content()
    assert blocked == []
