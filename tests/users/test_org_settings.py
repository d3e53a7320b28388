"""The organisation settings page (ORG-7, X-3; issue 11 bug 2): each section saves and is
audited, a refused value stays on the form as typed, the slug moves the org's pages, only
administrators open it, and the delete flow (ORG-4) is linked from its danger zone."""

import zoneinfo

import pytest
from django_scopes import scopes_disabled

from tests.conftest import client_for
from tests.users.factories import CrmUserFactory, OrganizationFactory, builtin_profile
from users.models import AuditLogEntry, CrmUser, Organization


def settings_url(org, suffix=""):
    return f"/o/{org.slug}/settings/{suffix}"


def stored(org) -> Organization:
    return Organization.objects.get(pk=org.pk)


def audited(org, action) -> list[dict]:
    with scopes_disabled():
        return [e.details for e in AuditLogEntry.objects.filter(org=org, action=action)]


@pytest.fixture
def other_admin_a(org_a):
    with scopes_disabled():
        return CrmUserFactory(
            org=org_a, profile=builtin_profile(org_a, "administrator"), first_name="Ada"
        )


def test_org7_page_shows_every_section(client_admin_a, org_a, admin_a, member_a):
    """ORG-7, ORG-5: name, address, plan and licences ("2 of 3 used · 1 free"), verification,
    time zone and language, idle timeout, super admin and the danger zone."""
    page = client_admin_a.get(settings_url(org_a)).content.decode()
    for text in (
        'value="Alpha Corp"',
        'value="alpha"',
        "every link to the organisation's pages",
        "Free",
        "Licences: 2 of 3 used · 1 free",
        "Verified",
        '<option value="UTC" selected>UTC</option>',
        "Idle session timeout",
        "Danger zone",
        "Alice Admin is the super admin",
    ):
        assert text in page, text


def test_org7_navigation_links_the_page_for_administrators(client_admin_a, org_a, member_a):
    """ORG-7: administrators find the settings in the navigation; other members don't."""
    link = f'href="{settings_url(org_a)}"'
    assert link in client_admin_a.get(f"/o/{org_a.slug}/").content.decode()
    assert link not in client_for(member_a).get(f"/o/{org_a.slug}/").content.decode()


def test_org7_rename_saves_audits_and_shows_the_new_name(client_admin_a, org_a):
    """ORG-7, issue 11 bug 2: sign-up says "you can change it later"; now one can."""
    response = client_admin_a.post(
        settings_url(org_a, "name/"), {"name": "  Alpha Holdings "}, follow=True
    )
    assert stored(org_a).name == "Alpha Holdings"
    page = response.content.decode()
    assert "Name saved." in page
    assert '<span class="org-name">Alpha Holdings</span>' in page
    assert audited(org_a, "org.renamed") == [{"old": "Alpha Corp", "new": "Alpha Holdings"}]


def test_org7_empty_name_is_refused_and_nothing_changes(client_admin_a, org_a):
    response = client_admin_a.post(settings_url(org_a, "name/"), {"name": "   "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert stored(org_a).name == "Alpha Corp"
    assert audited(org_a, "org.renamed") == []


def test_org7_slug_change_moves_the_pages_to_the_new_address(client_admin_a, org_a):
    """ORG-7: after the change the settings answer at the new address; the old one is gone."""
    response = client_admin_a.post(settings_url(org_a, "address/"), {"slug": "Alpha-Two"})
    assert response.status_code == 302
    assert response["Location"] == "/o/alpha-two/settings/"
    page = client_admin_a.get(response["Location"]).content.decode()
    assert "old links no longer work" in page
    assert client_admin_a.get("/o/alpha/settings/").status_code == 404
    assert audited(org_a, "org.slug_changed") == [{"old": "alpha", "new": "alpha-two"}]


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("beta", "This address is taken. Choose another one."),
        ("no spaces!", "Use 3 to 60 lowercase letters, digits and hyphens"),
        ("-alpha", "Use 3 to 60 lowercase letters, digits and hyphens"),
        ("ab", "Use 3 to 60 lowercase letters, digits and hyphens"),
        ("x" * 61, "Use 3 to 60 lowercase letters, digits and hyphens"),
    ],
)
def test_org7_bad_slug_is_refused_and_the_typed_value_kept(
    client_admin_a, org_a, org_b, typed, error
):
    response = client_admin_a.post(settings_url(org_a, "address/"), {"slug": typed})
    page = response.content.decode()
    assert response.status_code == 200
    assert error in page
    assert f'value="{typed}"' in page.replace("&#x27;", "'")
    assert stored(org_a).slug == "alpha"


def test_org7_time_zone_and_language_save_and_members_follow_the_zone(
    client_admin_a, org_a, admin_a, member_a
):
    """ORG-7: members who use the org's zone move with it; one who chose another keeps it."""
    with scopes_disabled():
        CrmUser.objects.filter(pk=member_a.pk).update(time_zone="Europe/Paris")
    response = client_admin_a.post(
        settings_url(org_a, "locale/"), {"time_zone": "Asia/Tokyo", "language": "ja"}
    )
    assert response.status_code == 302
    org = stored(org_a)
    assert (org.time_zone, org.language) == ("Asia/Tokyo", "ja")
    with scopes_disabled():
        assert CrmUser.objects.get(pk=admin_a.pk).time_zone == "Asia/Tokyo"
        assert CrmUser.objects.get(pk=member_a.pk).time_zone == "Europe/Paris"
    assert audited(org_a, "org.time_zone_changed") == [
        {"old": "UTC", "new": "Asia/Tokyo", "members": 1}
    ]
    assert audited(org_a, "org.language_changed") == [{"old": "en", "new": "ja"}]


def test_org7_unknown_time_zone_is_refused_with_the_form_kept(client_admin_a, org_a):
    response = client_admin_a.post(
        settings_url(org_a, "locale/"), {"time_zone": "Mars/Olympus", "language": "ja"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice." in page
    assert '<option value="ja" selected>' in page  # what was typed stays
    assert stored(org_a).language == "en"


def test_org7_new_members_start_with_the_org_language_and_zone(client_admin_a, org_a):
    """ORG-7, issue 11 Deliver 5: the add-user form's language defaults to the org's."""
    Organization.objects.filter(pk=org_a.pk).update(language="ja", time_zone="Asia/Tokyo")
    form = client_admin_a.get(f"/o/{org_a.slug}/users/new/").content.decode()
    assert '<option value="ja" selected>' in form
    with scopes_disabled():
        data = {
            "last_name": "Tanaka",
            "email": "tanaka@example.jp",
            "role": org_a.roles.get(name="Manager").pk,
            "profile": builtin_profile(org_a, "standard").pk,
        }
    client_admin_a.post(f"/o/{org_a.slug}/users/new/", data)
    with scopes_disabled():
        added = CrmUser.objects.get(org=org_a, email="tanaka@example.jp")
    assert (added.language, added.time_zone) == ("ja", "Asia/Tokyo")


def test_org7_org_time_zone_is_the_fallback_of_the_members(client_admin_a, org_a, admin_a):
    """ORG-7: dates on the org's pages fall back to the org's time zone."""
    Organization.objects.filter(pk=org_a.pk).update(time_zone="Asia/Tokyo")
    with scopes_disabled():
        CrmUser.objects.filter(pk=admin_a.pk).update(time_zone="Nowhere/Gone")
    page = client_admin_a.get(settings_url(org_a)).content.decode()
    verified = stored(org_a).verified_at.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert f"since {verified:%m/%d/%Y}" in page


def test_x3_idle_timeout_saves_turns_off_and_refuses_out_of_bounds(client_admin_a, org_a):
    url = settings_url(org_a, "idle-timeout/")
    client_admin_a.post(url, {"idle_timeout_minutes": "30"})
    assert stored(org_a).idle_timeout_minutes == 30
    for typed in ("2", "1441", "99999999999999999999"):
        response = client_admin_a.post(url, {"idle_timeout_minutes": typed})
        page = response.content.decode()
        assert response.status_code == 200
        assert "Enter a number of minutes from 5 to 1440" in page
        assert f'value="{typed}"' in page
    assert client_admin_a.post(url, {"idle_timeout_minutes": "soon"}).status_code == 200
    client_admin_a.post(url, {"idle_timeout_minutes": ""})
    assert stored(org_a).idle_timeout_minutes is None
    assert audited(org_a, "org.idle_timeout_changed") == [
        {"old": 30, "new": None},
        {"old": None, "new": 30},
    ]


def test_org1_super_admin_transfer_from_the_settings(client_admin_a, org_a, admin_a, other_admin_a):
    """ORG-1: the super admin picks an active administrator, confirms, and is one no more."""
    page = client_admin_a.get(settings_url(org_a)).content.decode()
    assert f'href="{settings_url(org_a, "super-admin/")}"' in page
    confirm = client_admin_a.get(settings_url(org_a, "super-admin/")).content.decode()
    assert "You stay an administrator" in confirm
    assert other_admin_a.email in confirm
    with scopes_disabled():
        assert CrmUser.objects.get(pk=admin_a.pk).is_super_admin  # a GET changes nothing
    response = client_admin_a.post(
        settings_url(org_a, "super-admin/"), {"to": other_admin_a.pk}, follow=True
    )
    assert "Ada User" in response.content.decode() and "is now the super admin" in (
        response.content.decode()
    )
    with scopes_disabled():
        assert CrmUser.objects.get(pk=other_admin_a.pk).is_super_admin
        assert not CrmUser.objects.get(pk=admin_a.pk).is_super_admin
    assert audited(org_a, "org.super_admin_transferred") == [
        {"old": admin_a.email, "new": other_admin_a.email}
    ]


def test_org1_old_make_super_admin_address_is_gone(client_admin_a, org_a, other_admin_a):
    """Issue 11: the transfer lives in the settings only; the user page no longer links it."""
    old = f"/o/{org_a.slug}/users/{other_admin_a.pk}/make-super-admin/"
    assert client_admin_a.get(old).status_code == 404
    detail = client_admin_a.get(f"/o/{org_a.slug}/users/{other_admin_a.pk}/").content.decode()
    assert "make-super-admin" not in detail


def test_org4_danger_zone_links_the_delete_flow_for_the_super_admin(
    client_admin_a, org_a, other_admin_a
):
    """ORG-4, issue 11 bug 2: org delete existed but nothing linked to it."""
    delete_url = f"/o/{org_a.slug}/delete/"
    assert f'href="{delete_url}"' in client_admin_a.get(settings_url(org_a)).content.decode()
    other_page = client_for(other_admin_a).get(settings_url(org_a)).content.decode()
    assert f'href="{delete_url}"' not in other_page
    assert "Only the super admin can delete the organisation." in other_page
    assert client_for(other_admin_a).get(delete_url).status_code == 403
    confirm = client_admin_a.get(delete_url).content.decode()
    assert f'href="{settings_url(org_a)}"' in confirm  # Cancel leads back to the settings


def test_org4_delete_reached_from_the_settings_erases_the_org(db):
    """ORG-4: the only active user deletes the org after typing its name."""
    with scopes_disabled():
        founder = CrmUserFactory(
            org=OrganizationFactory(name="Solo", slug="solo"), is_super_admin=True
        )
    client = client_for(founder)
    refused = client.post("/o/solo/delete/", {"confirm_name": "solo"})
    assert "Type the organisation&#x27;s name exactly" in refused.content.decode()
    client.post("/o/solo/delete/", {"confirm_name": "Solo"})
    assert not Organization.objects.filter(slug="solo").exists()


@pytest.mark.parametrize(
    "suffix", ["", "name/", "address/", "locale/", "idle-timeout/", "super-admin/"]
)
def test_org7_a_member_who_is_not_an_administrator_gets_403(org_a, member_a, suffix):
    """ORG-7: Standard members neither open nor post the settings; the org stays as it is."""
    client = client_for(member_a)
    assert client.get(settings_url(org_a, suffix)).status_code == 403
    data = {"name": "Mallory", "slug": "mallory", "time_zone": "UTC", "language": "ja"}
    assert client.post(settings_url(org_a, suffix), data).status_code == 403
    org = stored(org_a)
    assert (org.name, org.slug, org.language) == ("Alpha Corp", "alpha", "en")


def test_org7_an_administrator_who_is_not_super_admin_changes_settings_not_the_role(
    org_a, other_admin_a
):
    client = client_for(other_admin_a)
    client.post(settings_url(org_a, "name/"), {"name": "Renamed by Ada"})
    assert stored(org_a).name == "Renamed by Ada"
    page = client.get(settings_url(org_a)).content.decode()
    assert "Only the super admin can transfer this role." in page
    assert client.get(settings_url(org_a, "super-admin/")).status_code == 403


def test_org7_sections_answer_405_to_get_and_the_page_to_post(client_admin_a, org_a):
    for suffix in ("name/", "address/", "locale/", "idle-timeout/"):
        assert client_admin_a.get(settings_url(org_a, suffix)).status_code == 405
    assert client_admin_a.post(settings_url(org_a)).status_code == 405


def test_org7_page_in_japanese(client_admin_a, org_a):
    """X-1: the page speaks the viewer's language."""
    client_admin_a.post("/language/", {"language": "ja"})
    page = client_admin_a.get(settings_url(org_a)).content.decode()
    assert "組織の設定" in page and "無操作時の自動ログアウト" in page
    assert "Organisation settings" not in page
    refused = client_admin_a.post(settings_url(org_a, "address/"), {"slug": "x"})
    assert "半角の英小文字・数字・ハイフンで 3〜60 文字" in refused.content.decode()
