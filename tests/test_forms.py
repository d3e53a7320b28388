"""Forms a CRM admin expects (issue 11, Deliver 5 and 7): long forms in sections, an error
summary at the top that links to each field, typed values kept, sensible defaults (owner = me,
language = the org's), and the Japanese conventions (X-1): family name first, YYYY/MM/DD."""

import datetime
import importlib
import re

import pytest
from django.apps import apps
from django.forms import DateField, DateInput
from django.template import Context, Template
from django.urls import reverse
from django.utils import formats, translation
from django_scopes import scope, scopes_disabled

from crm_portal.forms import family_name_field_first
from crm_portal.names import person_name
from records.field_services import custom_field_create, field_layout_save, ordered_specs
from records.forms import RecordForm
from records.models import Contact
from tests.conftest import client_for
from tests.records.factories import ContactFactory
from users.models import CrmUser

migration = importlib.import_module("users.migrations.0007_date_format_default_by_language")

CONTACT_SECTIONS = ["Name and contact data", "Company", "Address", "CRM"]


def new_contact_url(org):
    return reverse("contact_create", kwargs={"org_slug": org.slug})


def legends(html: str) -> list[str]:
    return re.findall(r'<fieldset class="[^"]*form-section[^"]*"[^>]*>\s*<legend>([^<]+)<', html)


def position(html: str, field_id: str) -> int:
    index = html.find(f'id="{field_id}"')
    assert index >= 0, f"{field_id} is not on the page"
    return index


def in_japanese(membership) -> None:
    membership.user.language = "ja"
    membership.user.save(update_fields=["language"])


def set_preferences(membership, **values):
    with scopes_disabled():
        CrmUser.objects.filter(pk=membership.pk).update(**values)


# --- sections --------------------------------------------------------------------------------


def test_rec1_contact_form_shows_its_sections_in_order(client_member_a, org_a):
    """issue 11: name and contact data / company / address / CRM, each field in its own."""
    html = client_member_a.get(new_contact_url(org_a)).content.decode()
    assert legends(html) == CONTACT_SECTIONS
    sections = [html.find(f"<legend>{legend}</legend>") for legend in CONTACT_SECTIONS]
    assert sections[0] < position(html, "id_email") < sections[1]
    assert sections[1] < position(html, "id_account") < position(html, "id_title") < sections[2]
    assert sections[2] < position(html, "id_postal_code") < sections[3]
    assert sections[3] < position(html, "id_owner") < position(html, "id_language")


def test_rec1_account_and_add_user_forms_are_in_sections(client_admin_a, org_a):
    """issue 11: every long form gets the same sections and field markup."""
    account = client_admin_a.get(reverse("account_create", kwargs={"org_slug": org_a.slug}))
    assert legends(account.content.decode()) == ["Account", "Address", "CRM"]
    add_user = client_admin_a.get(reverse("user_add", kwargs={"org_slug": org_a.slug}))
    assert legends(add_user.content.decode()) == ["Name and contact data", "Access"]


def test_rec1_custom_fields_go_to_more_fields_or_where_the_layout_puts_them(
    client_admin_a, org_a, admin_a
):
    """A new custom field has its own section; moved by the field layout next to a standard
    field, it joins that field's section (REC-1, issue 11)."""
    with scope(org=org_a):
        budget = custom_field_create(
            org=org_a, actor=admin_a, module="contacts", label="Budget", field_type="number"
        )
    html = client_admin_a.get(new_contact_url(org_a)).content.decode()
    assert legends(html) == [*CONTACT_SECTIONS, "More fields"]
    assert position(html, f"id_{budget.key}") > html.find("<legend>More fields</legend>")

    with scope(org=org_a):
        order = [spec.key for spec in ordered_specs(org_a, "contacts")]
        order.remove(budget.key)
        order.insert(order.index("department") + 1, budget.key)
        field_layout_save(org=org_a, actor=admin_a, module="contacts", order=order)
    html = client_admin_a.get(new_contact_url(org_a)).content.decode()
    assert legends(html) == CONTACT_SECTIONS
    assert position(html, "id_department") < position(html, f"id_{budget.key}")
    assert position(html, f"id_{budget.key}") < html.find("<legend>Address</legend>")


def test_rec1_required_fields_carry_the_marker(client_member_a, org_a):
    html = client_member_a.get(new_contact_url(org_a)).content.decode()
    last_name = re.search(r'<label for="id_last_name">(.*?)</label>', html, re.S).group(1)
    first_name = re.search(r'<label for="id_first_name">(.*?)</label>', html, re.S).group(1)
    assert "required-marker" in last_name
    assert "required-marker" not in first_name


# --- error summary ---------------------------------------------------------------------------


def test_rec1_error_summary_links_to_each_field_and_keeps_typed_values(client_member_a, org_a):
    """issue 11: "Please correct 2 fields" at the top, a link to each, and what was typed
    stays in the fields."""
    response = client_member_a.post(
        new_contact_url(org_a),
        {"first_name": "Marie", "last_name": "", "email": "marie@", "city": "Lyon"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Please correct 2 fields" in html
    start = html.find("data-error-summary")
    summary = html[start : html.find("</ul>", start)]
    assert 'href="#id_last_name"' in summary
    assert 'href="#id_email"' in summary
    assert summary.find("#id_last_name") < summary.find("#id_email")  # page order
    assert 'value="Marie"' in html
    assert 'value="marie@"' in html
    assert 'value="Lyon"' in html
    # the error is tied to its field for screen readers
    assert re.search(r'<input[^>]*aria-describedby="id_email_error"[^>]*id="id_email"', html)
    assert 'id="id_email_error"' in html
    with scopes_disabled():
        assert not Contact.objects.filter(first_name="Marie").exists()


def test_rec1_error_summary_counts_one_field_in_the_singular(client_member_a, org_a):
    html = client_member_a.post(
        new_contact_url(org_a), {"last_name": "Dubois", "email": "marie@"}
    ).content.decode()
    assert "Please correct 1 field<" in html


def test_usr3_add_user_form_keeps_typed_values_with_its_error_summary(client_admin_a, org_a):
    html = client_admin_a.post(
        reverse("user_add", kwargs={"org_slug": org_a.slug}),
        {"first_name": "Kenji", "last_name": "Sato", "email": "not-an-address"},
    ).content.decode()
    assert "data-error-summary" in html
    assert 'href="#id_email"' in html
    assert 'value="Kenji"' in html and 'value="not-an-address"' in html


def test_rec1_a_valid_form_has_no_error_summary(client_member_a, org_a):
    html = client_member_a.get(new_contact_url(org_a)).content.decode()
    assert "data-error-summary" not in html


# --- defaults --------------------------------------------------------------------------------


def test_rec5_new_contact_defaults_to_me_and_to_the_site_language(client_member_a, org_a, member_a):
    """issue 11: owner = me; language = the org's default, the site's while it has none."""
    form = client_member_a.get(new_contact_url(org_a)).context["form"]
    assert form["owner"].value() == member_a.pk
    assert form["language"].value() == "en"


def test_x1_new_contact_language_is_the_orgs_default(org_a, member_a):
    """The org's default language (org settings, issue 11) is what a new contact starts with;
    editing a contact keeps the contact's own."""
    org_a.language = "ja"
    with scope(org=org_a):
        form = RecordForm(org=org_a, module="contacts", creator=member_a)
        assert form["language"].value() == "ja"
        contact = ContactFactory(org=org_a, language="en")
        assert RecordForm(org=org_a, module="contacts", record=contact)["language"].value() == "en"


# --- Japanese name order (X-1) ---------------------------------------------------------------


def test_x1_person_name_puts_the_family_name_first_in_japanese():
    assert person_name("Taro", "Yamada", "ja") == "Yamada Taro"
    assert person_name("Taro", "Yamada", "en") == "Taro Yamada"
    assert person_name("", "Yamada", "ja") == "Yamada"
    assert person_name("Taro", " ", "en") == "Taro"
    assert person_name("", "", "ja") == ""


def test_x1_names_of_contacts_and_users_follow_the_active_language(org_a, member_a):
    contact = Contact(org=org_a, first_name="太郎", last_name="山田")
    template = Template("{% load names %}{% person_name contact %}|{% person_name member %}")
    context = Context({"contact": contact, "member": member_a})
    with translation.override("ja"):
        assert str(contact) == "山田 太郎"
        assert member_a.full_name == "Member Mark"
        assert template.render(context) == "山田 太郎|Member Mark"
    with translation.override("en"):
        assert str(contact) == "太郎 山田"
        assert str(member_a) == "Mark Member"
        assert template.render(context) == "太郎 山田|Mark Member"


def test_x1_contact_page_heading_is_family_name_first_in_japanese(org_a, member_a):
    with scopes_disabled():
        contact = ContactFactory(org=org_a, first_name="Taro", last_name="Yamada", owner=member_a)
    in_japanese(member_a)
    url = reverse("contact_detail", kwargs={"org_slug": org_a.slug, "contact_pk": contact.pk})
    html = client_for(member_a).get(url).content.decode()
    assert "Yamada Taro" in html
    assert "Taro Yamada" not in html
    assert 0 <= html.find("<dt>姓</dt>") < html.find("<dt>名</dt>")  # the fields too


@pytest.mark.parametrize(
    ("url_name", "who"),
    [("contact_create", "member_a"), ("user_add", "admin_a"), ("my_details", "member_a")],
)
def test_x1_family_name_field_comes_first_in_japanese(request, org_a, url_name, who):
    membership = request.getfixturevalue(who)
    client = client_for(membership)
    url = reverse(url_name, kwargs={"org_slug": org_a.slug})
    english = client.get(url).content.decode()
    assert position(english, "id_first_name") < position(english, "id_last_name")
    in_japanese(membership)
    japanese = client.get(url).content.decode()
    assert position(japanese, "id_last_name") < position(japanese, "id_first_name")
    assert "姓" in japanese


def test_x1_family_name_field_first_keeps_other_fields_in_place():
    names = ["first_name", "last_name", "email"]
    assert family_name_field_first(names, "ja") == ["last_name", "first_name", "email"]
    assert family_name_field_first(names, "en") == names
    assert family_name_field_first(["last_name", "email"], "ja") == ["last_name", "email"]


# --- Japanese date format (X-1) --------------------------------------------------------------


def created_shown(client, org, contact) -> str:
    url = reverse("contact_detail", kwargs={"org_slug": org.slug, "contact_pk": contact.pk})
    html = client.get(url).content.decode()
    created = re.search(r"<dt>(Created|作成)</dt><dd>(\S+) [^<]*</dd>", html)
    assert created, "the contact page shows when it was created"
    return created.group(2)


@pytest.fixture
def contact_of_member(org_a, member_a):
    with scopes_disabled():
        return ContactFactory(org=org_a, last_name="Yamada", owner=member_a)


def test_x1_japanese_ui_shows_dates_as_yyyy_mm_dd_by_default(org_a, member_a, contact_of_member):
    set_preferences(member_a, date_format="", locale="en_US", time_zone="UTC")
    in_japanese(member_a)
    shown = created_shown(client_for(member_a), org_a, contact_of_member)
    assert shown == contact_of_member.created_at.strftime("%Y/%m/%d")


def test_x1_english_ui_default_follows_the_members_locale(org_a, member_a, contact_of_member):
    set_preferences(member_a, date_format="", locale="en_US", time_zone="UTC")
    shown = created_shown(client_for(member_a), org_a, contact_of_member)
    assert shown == contact_of_member.created_at.strftime("%m/%d/%Y")


def test_x1_a_date_format_the_member_chose_wins_over_the_japanese_default(
    org_a, member_a, contact_of_member
):
    set_preferences(member_a, date_format="Y-m-d", locale="en_US", time_zone="UTC")
    in_japanese(member_a)
    shown = created_shown(client_for(member_a), org_a, contact_of_member)
    assert shown == contact_of_member.created_at.strftime("%Y-%m-%d")


def test_x1_japanese_format_module_reads_and_writes_slashes():
    with translation.override("ja"):
        assert formats.get_format("DATE_FORMAT") == "Y/m/d"
        assert formats.get_format("SHORT_DATE_FORMAT") == "Y/m/d"
        assert formats.get_format("DATETIME_FORMAT") == "Y/m/d H:i"
        assert {"%Y/%m/%d", "%Y-%m-%d"} <= set(formats.get_format("DATE_INPUT_FORMATS"))


def test_usr6_default_for_my_language_is_offered_and_saved(org_a, member_a):
    """USR-6, X-1: "Default for my language" is the first date format, chosen for a new
    member, and can be saved."""
    client = client_for(member_a)
    url = reverse("my_details", kwargs={"org_slug": org_a.slug})
    html = client.get(url).content.decode()
    assert '<option value="" selected>Default for my language (12/31/2025)</option>' in html
    data = {
        "first_name": "Mark",
        "last_name": "Member",
        "language": "ja",
        "locale": "ja_JP",
        "date_format": "Y-m-d",
        "time_format": "24",
        "time_zone": "Asia/Tokyo",
    }
    assert client.post(url, data).status_code == 302
    client.post(url, {**data, "date_format": ""})
    with scopes_disabled():
        assert CrmUser.objects.get(pk=member_a.pk).date_format == ""


def test_x1_a_new_member_starts_with_default_for_my_language(org_a):
    with scopes_disabled():
        assert CrmUser(org=org_a, last_name="New").date_format == ""


def test_x1_members_on_the_old_default_follow_their_language_after_the_migration(
    org_a, admin_a, member_a
):
    """users/0007: m/d/Y was everyone's default, so it now means "Default for my language";
    a format a member picked otherwise stays."""
    set_preferences(admin_a, date_format="m/d/Y")
    set_preferences(member_a, date_format="d/m/Y")
    with scopes_disabled():
        migration.old_default_to_language_default(apps, None)
        assert CrmUser.objects.get(pk=admin_a.pk).date_format == ""
        assert CrmUser.objects.get(pk=member_a.pk).date_format == "d/m/Y"


def test_x1_japanese_dates_typed_with_slashes_are_read_and_date_inputs_stay_iso():
    """A date typed as 2025/12/31 is understood in Japanese; a date field's value is still
    written as ISO, which <input type="date"> needs."""
    field = DateField(widget=DateInput(attrs={"type": "date"}))
    with translation.override("ja"):
        assert field.clean("2025/12/31") == datetime.date(2025, 12, 31)
        assert field.clean("2025-12-31") == datetime.date(2025, 12, 31)
        assert 'value="2025-12-31"' in field.widget.render("d", datetime.date(2025, 12, 31))


def test_usr6_details_form_summary_links_to_the_bad_field_and_keeps_the_rest(org_a, member_a):
    html = (
        client_for(member_a)
        .post(
            reverse("my_details", kwargs={"org_slug": org_a.slug}),
            {
                "first_name": "Mark",
                "last_name": "Member",
                "city": "Nagoya",
                "website": "javascript:alert(1)",
                "language": "en",
                "locale": "en_US",
                "date_format": "",
                "time_format": "24",
                "time_zone": "Asia/Tokyo",
            },
        )
        .content.decode()
    )
    assert "Please correct 1 field<" in html
    assert 'href="#id_website"' in html
    assert 'value="Nagoya"' in html
    assert legends(html) == ["Personal", "Contact", "Address", "Locale &amp; time"]


def test_x1_sign_up_asks_the_family_name_first_in_japanese(client, db):
    english = client.get(reverse("account_signup")).content.decode()
    assert position(english, "id_first_name") < position(english, "id_last_name")
    client.post(reverse("language_set"), {"language": "ja", "next": "/"})
    japanese = client.get(reverse("account_signup")).content.decode()
    assert position(japanese, "id_last_name") < position(japanese, "id_first_name")
    assert position(japanese, "id_organization_name") < position(japanese, "id_last_name")
