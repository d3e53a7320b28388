"""User details (USR-6) and dates shown as the viewer prefers them; every change is audited
(USR-9)."""

import datetime
import re

import pytest
from django.template import Context, Template
from django_scopes import scopes_disabled

from records.models import RecordEvent
from tests.conftest import client_for
from tests.records.factories import ContactFactory
from users.models import AuditLogEntry, CrmUser, User

UTC = datetime.UTC

VALID = {
    "first_name": "Mark",
    "last_name": "Member",
    "phone": "+81 3 1234 5678",
    "mobile": "+81 90 1234 5678",
    "website": "https://mark.example.jp",
    "fax": "",
    "date_of_birth": "1990-04-01",
    "street": "1-2-3 Marunouchi",
    "city": "Chiyoda",
    "state": "Tokyo",
    "postal_code": "100-0005",
    "country": "Japan",
    "language": "ja",
    "locale": "ja_JP",
    "date_format": "Y年n月j日",
    "time_format": "24",
    "time_zone": "Asia/Tokyo",
}


def details_url(org, membership):
    return f"/o/{org.slug}/users/{membership.pk}/details/"


def me_url(org):
    return f"/o/{org.slug}/me/"


def reload(membership) -> CrmUser:
    with scopes_disabled():
        return CrmUser.objects.get(pk=membership.pk)


def audit_entries(org):
    with scopes_disabled():
        return list(AuditLogEntry.objects.filter(org=org, action="user.details_changed"))


def set_preferences(membership, **values):
    with scopes_disabled():
        CrmUser.objects.filter(pk=membership.pk).update(**values)


# --- editing ---------------------------------------------------------------------------------


def test_usr6_admin_edits_someones_details_and_it_is_audited(
    client_admin_a, org_a, admin_a, member_a
):
    response = client_admin_a.post(details_url(org_a, member_a), VALID)

    assert response.status_code == 302
    assert response["Location"] == details_url(org_a, member_a)
    saved = reload(member_a)
    assert (saved.phone, saved.website, saved.city) == (
        "+81 3 1234 5678",
        "https://mark.example.jp",
        "Chiyoda",
    )
    assert saved.date_of_birth == datetime.date(1990, 4, 1)
    assert (saved.locale, saved.date_format, saved.time_format, saved.time_zone) == (
        "ja_JP",
        "Y年n月j日",
        "24",
        "Asia/Tokyo",
    )
    [entry] = audit_entries(org_a)
    assert (entry.actor_id, entry.target_id, entry.ip_address) == (
        admin_a.pk,
        member_a.pk,
        "127.0.0.1",
    )
    assert "time_zone" in entry.details["fields"] and "first_name" not in entry.details["fields"]
    page = client_admin_a.get(response["Location"]).content.decode()
    assert "Details of Mark Member saved." in page


def test_usr6_member_edits_their_own_details_and_language(client_member_a, org_a, member_a):
    response = client_member_a.post(me_url(org_a), {**VALID, "city": "Osaka"})

    assert response["Location"] == me_url(org_a)
    assert reload(member_a).city == "Osaka"
    assert User.objects.get(pk=member_a.user_id).language == "ja", "X-1: the UI follows"
    assert 'lang="ja"' in client_member_a.get(me_url(org_a)).content.decode()
    [entry] = audit_entries(org_a)
    assert entry.actor_id == entry.target_id == member_a.pk


def test_usr6_member_may_use_the_user_url_for_themself(client_member_a, org_a, member_a):
    response = client_member_a.post(details_url(org_a, member_a), {**VALID, "city": "Kyoto"})
    assert response.status_code == 302
    assert reload(member_a).city == "Kyoto"


def test_usr6_form_shows_the_current_values_in_groups(client_admin_a, org_a, member_a):
    set_preferences(member_a, city="Nagoya", locale="en_GB", date_format="j M Y")
    body = client_admin_a.get(details_url(org_a, member_a)).content.decode()
    for legend in ("Personal", "Contact", "Address", "Locale &amp; time"):
        assert f"<legend>{legend}</legend>" in body
    assert 'value="Nagoya"' in body
    assert '<option value="j M Y" selected>31 Dec 2025</option>' in body
    assert "12/31/2025" not in body, "only the formats of the user's locale are offered"


def test_usr6_standard_member_cannot_edit_someone_else(client_member_a, org_a, admin_a):
    before = reload(admin_a).phone
    assert client_member_a.get(details_url(org_a, admin_a)).status_code == 403
    response = client_member_a.post(details_url(org_a, admin_a), {**VALID, "phone": "666"})
    assert response.status_code == 403
    assert reload(admin_a).phone == before
    assert audit_entries(org_a) == []


def test_usr6_standard_member_cannot_probe_ids(client_member_a, org_a):
    """Without Manage Users, a missing id answers like someone else's: 403, no oracle."""
    assert client_member_a.get(f"/o/{org_a.slug}/users/987654321/details/").status_code == 403


def test_usr6_outsider_gets_404_and_changes_nothing(client_admin_b, org_a, member_a):
    assert client_admin_b.get(details_url(org_a, member_a)).status_code == 404
    assert client_admin_b.post(details_url(org_a, member_a), VALID).status_code == 404
    assert reload(member_a).locale == "en_US"
    assert audit_entries(org_a) == []


def test_usr6_wrong_method_is_refused(client_admin_a, org_a, member_a):
    assert client_admin_a.delete(details_url(org_a, member_a)).status_code == 405
    assert client_admin_a.put(me_url(org_a)).status_code == 405
    assert client_admin_a.post(f"/o/{org_a.slug}/me/date-formats/").status_code == 405


@pytest.mark.parametrize(
    ("changes", "field_error"),
    [
        (
            {"locale": "ja_JP", "date_format": "m/d/Y"},
            "That date format is not used in Japanese (Japan). "
            "Choose one of: 2025/12/31, 2025年12月31日, 2025-12-31.",
        ),
        ({"time_zone": "Mars/Olympus_Mons"}, "Mars/Olympus_Mons is not a time zone."),
        ({"website": "javascript:alert(1)"}, "Enter a valid URL."),
        ({"date_of_birth": "2999-01-01"}, "The date of birth cannot be in the future."),
        ({"last_name": ""}, "This field is required."),
    ],
    ids=["date-format-not-of-locale", "time-zone", "url", "future-birth-date", "last-name"],
)
def test_usr6_bad_input_keeps_typed_values_and_writes_nothing(
    client_admin_a, org_a, member_a, changes, field_error
):
    response = client_admin_a.post(details_url(org_a, member_a), {**VALID, **changes})

    body = response.content.decode()
    assert response.status_code == 200
    assert field_error in body
    assert 'value="+81 3 1234 5678"' in body and 'value="1-2-3 Marunouchi"' in body
    saved = reload(member_a)
    assert (saved.phone, saved.locale, saved.time_zone) == ("", "en_US", "UTC")
    assert audit_entries(org_a) == []


def test_usr6_changed_locale_without_js_offers_the_new_locales_formats(
    client_admin_a, org_a, member_a
):
    body = client_admin_a.post(
        details_url(org_a, member_a), {**VALID, "locale": "de_DE", "date_format": "Y/m/d"}
    ).content.decode()
    assert '<option value="d.m.Y">31.12.2025</option>' in body
    assert "German (Germany)" in body


# --- the date formats follow the locale (htmx) -----------------------------------------------


def test_usr6_page_asks_for_the_formats_when_the_locale_changes(client_member_a, org_a):
    body = client_member_a.get(me_url(org_a)).content.decode()
    assert f'hx-get="/o/{org_a.slug}/me/date-formats/"' in body
    assert 'hx-target="#date-format-field"' in body
    assert 'id="date-format-field"' in body


def test_usr6_htmx_partial_lists_the_formats_of_the_locale(client_member_a, org_a):
    response = client_member_a.get(
        f"/o/{org_a.slug}/me/date-formats/", {"locale": "ja_JP"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body, "a fragment, not a page"
    # the member's choice is "Default for my language", then the locale's formats
    assert body.count("<option") == 4
    assert '<option value="" selected>Default for my language (2025/12/31)</option>' in body
    assert '<option value="Y/m/d">2025/12/31</option>' in body
    assert '<option value="Y年n月j日">2025年12月31日</option>' in body
    assert "12/31/2025" not in body


def test_usr6_htmx_partial_keeps_a_format_the_new_locale_allows(client_member_a, org_a):
    body = client_member_a.get(
        f"/o/{org_a.slug}/me/date-formats/", {"locale": "en_GB", "date_format": "Y-m-d"}
    ).content.decode()
    assert '<option value="Y-m-d" selected>2025-12-31</option>' in body
    assert '<option value="d/m/Y">31/12/2025</option>' in body


def test_usr6_htmx_partial_unknown_locale_shows_the_members_own(client_member_a, org_a):
    body = client_member_a.get(
        f"/o/{org_a.slug}/me/date-formats/", {"locale": "xx_XX"}
    ).content.decode()
    assert '<option value="" selected>Default for my language (12/31/2025)</option>' in body


# --- every date and time follows the viewer ---------------------------------------------------


@pytest.fixture
def contact_with_history(org_a, admin_a, member_a):
    """A contact of member_a whose one change was stored at 2025-01-15 18:05 UTC."""
    with scopes_disabled():
        contact = ContactFactory(org=org_a, owner=member_a, first_name="Yuki", last_name="Mori")
        event = RecordEvent.objects.create(
            org=org_a,
            record_id=contact.pk,
            kind=RecordEvent.Kind.UPDATE,
            changes={"country": ["FR", "JP"]},
            actor=admin_a,
        )
        RecordEvent.objects.filter(pk=event.pk).update(
            created_at=datetime.datetime(2025, 1, 15, 18, 5, tzinfo=UTC)
        )
    return contact


def test_usr6_two_users_see_the_same_moment_their_own_way(
    org_a, admin_a, member_a, contact_with_history
):
    set_preferences(
        admin_a, locale="en_US", date_format="m/d/Y", time_format="12", time_zone="America/New_York"
    )
    set_preferences(
        member_a, locale="ja_JP", date_format="Y/m/d", time_format="24", time_zone="Asia/Tokyo"
    )
    url = f"/o/{org_a.slug}/contacts/{contact_with_history.pk}/"

    seen_by_admin = client_for(admin_a).get(url).content.decode()
    seen_by_member = client_for(member_a).get(url).content.decode()

    assert "01/15/2025 1:05 PM" in seen_by_admin
    assert "2025/01/16 03:05" in seen_by_member
    assert "2025/01/16" not in seen_by_admin
    # A 12-hour time, not the letters "PM" (a CSRF token may hold those by chance).
    assert not re.search(r"\d:\d\d [AP]M\b", seen_by_member)


def test_usr6_words_in_a_format_follow_the_ui_language(org_a, member_a, contact_with_history):
    set_preferences(
        member_a, locale="en_US", date_format="M j, Y", time_format="12", time_zone="Asia/Tokyo"
    )
    User.objects.filter(pk=member_a.user_id).update(language="ja")
    body = (
        client_for(member_a)
        .get(f"/o/{org_a.slug}/contacts/{contact_with_history.pk}/")
        .content.decode()
    )
    assert "1月 16, 2025 3:05 AM" in body


def test_usr6_a_stored_value_the_app_no_longer_offers_falls_back(
    org_a, member_a, contact_with_history
):
    """A bad time zone or format written by some other path must not break every page."""
    set_preferences(member_a, time_zone="Not/AZone", date_format="H:i:s", time_format="x")
    response = client_for(member_a).get(f"/o/{org_a.slug}/contacts/{contact_with_history.pk}/")
    assert response.status_code == 200
    assert "01/15/2025 18:05" in response.content.decode()


def test_usr6_outside_an_organisation_dates_are_iso_like(settings):
    rendered = Template("{% load user_prefs %}{{ when|user_datetime }} / {{ day|user_date }}")
    moment = datetime.datetime(2025, 1, 15, 18, 5, tzinfo=UTC)
    output = rendered.render(Context({"when": moment, "day": datetime.date(2025, 2, 3)}))
    assert output == "2025-01-15 18:05 / 2025-02-03"


def test_usr6_x1_time_zones_offered_are_region_city_names_and_a_stored_alias_stays(
    client_admin_a, org_a, member_a
):
    """The list offers "Asia/Tokyo", not the old alias "Japan" (which reads like a country);
    a member whose stored zone is such an alias sees it chosen and keeps it on save."""
    page = client_admin_a.get(details_url(org_a, member_a)).content.decode()
    assert '<option value="Asia/Tokyo"' in page and '<option value="UTC"' in page
    assert '<option value="Japan"' not in page and '<option value="US/Eastern"' not in page

    with scopes_disabled():
        CrmUser.objects.filter(pk=member_a.pk).update(time_zone="US/Eastern")
    page = client_admin_a.get(details_url(org_a, member_a)).content.decode()
    assert '<option value="US/Eastern" selected>' in page
    response = client_admin_a.post(
        details_url(org_a, member_a), {**VALID, "time_zone": "US/Eastern"}
    )
    assert response.status_code == 302
    assert reload(member_a).time_zone == "US/Eastern"
