"""Notes and attachments in Chromium (POR-7; issue 12 Deliver 4): a portal user adds a note on
their contact and uploads a small PDF; the org's admin sees both on the CRM contact page and
downloads the file."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from records.models import Attachment
from tests.e2e.test_portal_site import portal_sign_in
from tests.e2e.test_signup import sign_in
from tests.portals.site_world import group_modules, make_world
from tests.users.factories import CrmUserFactory

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return make_world(group_modules("own", actions=("view", "notes", "attachments")))


def test_por7_portal_user_adds_a_note_and_a_pdf_admin_sees_both(
    page, browser, live_server, world, tmp_path
):
    portal_sign_in(page, live_server, world)
    page.goto(f"{live_server.url}{world.url(f'contacts/{world.me.pk}/')}")
    page.get_by_label("New note").fill("Please send the new contract.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#portal-notes .note-body")).to_have_text("Please send the new contract.")

    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(PDF)
    page.get_by_label("File").set_input_files(str(pdf))
    page.get_by_role("button", name="Upload").click()
    uploaded = page.locator("#portal-attachments").get_by_role("link", name="contract.pdf")
    expect(uploaded).to_be_visible()

    with scopes_disabled():
        admin = CrmUserFactory(org=world.me.org, is_super_admin=True)
        assert Attachment.objects.get().content_type == "application/pdf"
    context = browser.new_context(locale="en-GB")
    crm = context.new_page()
    try:
        sign_in(crm, live_server, admin.email)
        crm.goto(f"{live_server.url}/o/{world.me.org.slug}/contacts/{world.me.pk}/")
        notes = crm.locator("#record-notes")
        expect(notes).to_contain_text("Please send the new contract.")
        expect(notes).to_contain_text("Paula Portal")
        link = crm.locator("#record-attachments").get_by_role("link", name="contract.pdf")
        expect(link).to_be_visible()
        with crm.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename == "contract.pdf"
        assert open(download.path(), "rb").read() == PDF
    finally:
        context.close()
