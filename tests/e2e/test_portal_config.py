"""POR-1, POR-2 in a browser: an administrator creates a portal with a logo, then a user group
sharing contacts with some of their fields, and finds both listed; the portals page reads in
Japanese too."""

import re
import struct
import zlib

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from portals.models import UserGroup
from tests.e2e.test_signup import sign_in

pytestmark = pytest.mark.browser


def _png() -> bytes:
    """A 1×1 PNG, built here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x25\x63\xeb")
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_por1_por2_admin_creates_a_portal_with_a_logo_and_a_user_group(
    page, live_server, admin_a, org_a, tmp_path
):
    sign_in(page, live_server, admin_a.email)
    expect(page).to_have_url(re.compile(rf"/o/{org_a.slug}/$"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Portals").click()
    expect(page.get_by_text("No portals yet.")).to_be_visible()
    page.get_by_role("link", name="Create a portal").first.click()

    page.get_by_label("Name").fill("Customer corner")
    page.get_by_label("Web address").fill("corner")
    page.get_by_label("Japanese").uncheck()
    page.get_by_label("Default language").select_option("en")
    logo = tmp_path / "brand.png"
    logo.write_bytes(_png())
    page.get_by_label("Logo").set_input_files(str(logo))
    page.get_by_role("button", name="Create portal").click()

    expect(page.get_by_role("heading", name="Customer corner")).to_be_visible()
    expect(page.locator("#portal-address")).to_have_text(f"{live_server.url}/portal/corner/")
    expect(page.locator("#portal-logo")).to_be_visible()
    assert page.locator("#portal-logo").evaluate("img => img.naturalWidth") == 1

    page.get_by_role("link", name="User groups").click()
    page.get_by_role("link", name="New user group").click()
    page.get_by_role("textbox", name="Name").fill("Customers")
    contacts = page.locator("#module-contacts")
    contacts.get_by_label("Share Contacts in this portal").check()
    contacts.get_by_role("group", name="Actions").get_by_label("Edit").check()
    contacts.get_by_role("radiogroup", name="Which records").get_by_label(
        "Their own contact"
    ).check()
    shown = contacts.get_by_role("group", name="Fields shown")
    for label in ("First name", "Last name", "Email", "Phone"):
        shown.get_by_label(label, exact=True).check()
    contacts.get_by_role("group", name="Fields editable").get_by_label("Phone", exact=True).check()
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#groups")).to_contain_text("Customers")
    expect(page.locator("#groups")).to_contain_text("Contacts")
    with scopes_disabled():
        group = UserGroup.objects.get(portal__slug="corner")
    assert group.modules == {
        "contacts": {
            "actions": ["view", "edit"],
            "records": "own",
            "fields_shown": ["first_name", "last_name", "email", "phone"],
            "fields_editable": ["phone"],
        }
    }

    page.get_by_role("link", name="← Portals").click()
    listing = page.locator("#portals")
    expect(listing).to_contain_text("Customer corner")
    expect(listing).to_contain_text("/portal/corner/")

    # One page in Japanese.
    page.locator("#lang-select").select_option("ja")
    expect(page.get_by_role("heading", level=1)).to_contain_text("ポータル")
    expect(page.locator("#portals")).to_contain_text("Customer corner")
    expect(page.locator("#portals thead")).to_contain_text("Web アドレス")
