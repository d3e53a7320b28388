"""Forms in Chromium (issue 11, Deliver 5; X-1): a contact saved with a bad email answers with
an error summary that takes the focus and whose link moves the focus to the field, with what
was typed kept; in Japanese the family name (姓) field comes before the given name (名)."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_signup import sign_in

pytestmark = pytest.mark.browser

EMAIL = re.compile(r"^Email")  # not "Secondary email"


def new_contact(page, live_server, org):
    page.goto(f"{live_server.url}/o/{org.slug}/contacts/new/")


def test_rec1_error_summary_takes_the_focus_and_links_to_the_field(
    page, live_server, member_a, org_a
):
    sign_in(page, live_server, member_a.email)
    new_contact(page, live_server, org_a)
    expect(page.locator("fieldset.form-section > legend")).to_have_text(
        ["Name and contact data", "Company", "Address", "CRM"]
    )
    page.get_by_label("First name").fill("Marie")
    page.get_by_label("Last name").fill("Dubois")
    page.get_by_label(EMAIL).fill("marie@")
    page.get_by_label("City").fill("Lyon")
    page.get_by_role("button", name="Save").click()

    summary = page.get_by_role("alert").filter(has_text="Please correct 1 field")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    summary.get_by_role("link", name=re.compile("^Email")).click()
    expect(page.get_by_label(EMAIL)).to_be_focused()
    expect(page.get_by_label(EMAIL)).to_have_value("marie@")
    expect(page.get_by_label("First name")).to_have_value("Marie")
    expect(page.get_by_label("Last name")).to_have_value("Dubois")
    expect(page.get_by_label("City")).to_have_value("Lyon")

    page.get_by_label(EMAIL).fill("marie@example.fr")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Marie Dubois")).to_be_visible()


def test_x1_family_name_field_comes_first_in_japanese(page, live_server, member_a, org_a):
    member_a.user.language = "ja"
    member_a.user.save(update_fields=["language"])
    sign_in(page, live_server, member_a.email)
    new_contact(page, live_server, org_a)
    names = page.locator("#id_last_name, #id_first_name")
    expect(names).to_have_count(2)
    expect(names.first).to_have_attribute("id", "id_last_name")
    expect(page.locator("label[for=id_last_name]")).to_contain_text("姓")
    expect(page.locator("label[for=id_first_name]")).to_contain_text("名")

    page.locator("#id_last_name").fill("山田")
    page.locator("#id_first_name").fill("太郎")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", name="山田 太郎")).to_be_visible()
