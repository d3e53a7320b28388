"""Portals and their user groups as the CRM configures them (POR-1, POR-2): the pages and the
services behind them."""

import io
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled

from crm_portal.exceptions import ActionRefused
from portals import config
from portals.models import Portal, UserGroup
from records.models import CustomField
from records.modules import forget_field_registry
from tests.conftest import client_for
from tests.portals.factories import PortalFactory, PortalUserFactory, UserGroupFactory
from tests.users.factories import CrmUserFactory
from users.models import AuditLogEntry, Profile

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
SVG_WITH_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 60


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _member(org, *codes):
    with scopes_disabled():
        profile = Profile.objects.create(org=org, name=f"P {'+'.join(codes) or 'none'}")
        profile.permissions = list(codes)
        profile.save()
        return CrmUserFactory(org=org, profile=profile)


@pytest.fixture
def portal_manager(org_a):
    return _member(org_a, "manage_portals")


@pytest.fixture
def portal_user_manager(org_a):
    return _member(org_a, "manage_portal_users")


@pytest.fixture
def portal_a(org_a):
    with scopes_disabled():
        return PortalFactory(org=org_a, name="Help centre", slug="help-centre")


def _form(**overrides):
    data = {
        "name": "Customer corner",
        "slug": "corner",
        "languages": ["en", "ja"],
        "default_language": "en",
        "primary_colour": "#112233",
        "background_colour": "#ffffff",
    }
    data.update(overrides)
    return data


def _base(org):
    return f"/o/{org.slug}/portals/"


def _logo(content, name="logo.png"):
    return SimpleUploadedFile(name, content, content_type="image/png")


def _portal(**filters):
    with scopes_disabled():
        return Portal.objects.get(**filters)


# --- portals (POR-1) ------------------------------------------------------------------------


def test_por1_list_shows_an_empty_state_with_create(client_admin_a, org_a):
    page = client_admin_a.get(_base(org_a)).content.decode()
    assert "No portals yet." in page
    assert f"{_base(org_a)}new/" in page
    assert "Create a portal" in page


def test_por1_create_with_a_png_logo_then_listed(client_admin_a, org_a, admin_a):
    data = _form(logo=_logo(PNG, "brand.png"))
    response = client_admin_a.post(f"{_base(org_a)}new/", data)
    portal = _portal(slug="corner")
    assert response.status_code == 302
    assert response["Location"] == f"{_base(org_a)}{portal.pk}/"
    assert portal.org == org_a and portal.languages == ["en", "ja"]
    assert portal.primary_colour == "#112233"
    assert portal.logo.name.endswith(".png") and portal.logo.read() == PNG
    logo = client_admin_a.get(f"{_base(org_a)}{portal.pk}/logo/")
    assert logo["Content-Type"] == "image/png"
    listing = client_admin_a.get(_base(org_a)).content.decode()
    assert "Customer corner" in listing and "/portal/corner/" in listing
    assert "English, Japanese" in listing
    with scopes_disabled():
        assert AuditLogEntry.objects.filter(org=org_a, action="portal.created").count() == 1


def test_por1_detail_shows_the_address_to_share_and_the_tabs(client_admin_a, org_a, portal_a):
    page = client_admin_a.get(f"{_base(org_a)}{portal_a.pk}/").content.decode()
    assert "http://testserver/portal/help-centre/" in page
    assert f"{_base(org_a)}{portal_a.pk}/groups/" in page  # the User groups tab
    assert f"{_base(org_a)}{portal_a.pk}/edit/" in page
    assert portal_a.primary_colour in page


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (SVG_WITH_SCRIPT, "logo.png"),
        (SVG_WITH_SCRIPT, "logo.svg"),
        (EXECUTABLE, "logo.png"),
        (ELF, "logo.gif"),
        (b"GIF8junk", "logo.gif"),
    ],
    ids=["svg-named-png", "svg", "exe-named-png", "elf-named-gif", "truncated-gif"],
)
def test_por1_a_logo_is_checked_by_its_content(client_admin_a, org_a, content, name):
    response = client_admin_a.post(f"{_base(org_a)}new/", _form(logo=_logo(content, name)))
    assert response.status_code == 200
    page = response.content.decode()
    assert "PNG, JPEG, GIF or WebP" in page and "SVG is not accepted" in page
    assert 'value="Customer corner"' in page  # typed values kept
    assert not Portal.objects.with_scopes_disabled().filter(slug="corner").exists()


def test_por1_an_oversized_logo_is_refused(client_admin_a, org_a, settings):
    settings.PORTAL_LOGO_MAX_BYTES = 1024
    response = client_admin_a.post(f"{_base(org_a)}new/", _form(logo=_logo(PNG + b"\0" * 2000)))
    assert response.status_code == 200
    assert "The logo may be at most 1 KB." in response.content.decode()
    assert not Portal.objects.with_scopes_disabled().filter(slug="corner").exists()


@pytest.mark.parametrize(
    "head", [b"\xff\xd8\xff\xe0", b"GIF89a", b"GIF87a", b"RIFF\x10\x00\x00\x00WEBPVP8 "]
)
def test_por1_jpeg_gif_and_webp_logos_are_accepted(head):
    assert config.check_logo(io.BytesIO(head + b"\0" * 32)).kind in {"jpg", "gif", "webp"}


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("with space", "Use lowercase letters"),
        ("-edge", "Use lowercase letters"),
        ("ünï", "Use lowercase letters"),
        ("admin", "reserved"),
        ("static", "reserved"),
        ("", "This field is required."),
    ],
)
def test_por1_slug_rules(client_admin_a, org_a, slug, message):
    response = client_admin_a.post(f"{_base(org_a)}new/", _form(slug=slug))
    assert response.status_code == 200
    assert message in response.content.decode()


def test_por1_a_slug_typed_in_capitals_is_stored_lowercase(client_admin_a, org_a):
    assert client_admin_a.post(f"{_base(org_a)}new/", _form(slug="Corner")).status_code == 302
    assert _portal(org=org_a).slug == "corner"


def test_por1_a_slug_taken_in_another_org_is_refused_without_naming_it(
    client_admin_a, org_a, org_b
):
    with scopes_disabled():
        PortalFactory(org=org_b, name="Beta secret portal", slug="corner")
    response = client_admin_a.post(f"{_base(org_a)}new/", _form())
    page = response.content.decode()
    assert "This web address is taken. Choose another." in page
    assert "Beta" not in page


def test_por1_languages_and_default_language(client_admin_a, org_a):
    none = client_admin_a.post(f"{_base(org_a)}new/", _form(languages=[]))
    assert "This field is required." in none.content.decode()
    outside = client_admin_a.post(
        f"{_base(org_a)}new/", _form(languages=["en"], default_language="ja")
    )
    assert "The default language must be one of the languages offered." in (
        outside.content.decode()
    )
    assert not Portal.objects.with_scopes_disabled().filter(slug="corner").exists()


@pytest.mark.parametrize("colour", ["red", "#12345", "#1234567", "#ggg000", "javascript:"])
def test_por1_colours_must_be_hex(client_admin_a, org_a, colour):
    response = client_admin_a.post(f"{_base(org_a)}new/", _form(background_colour=colour))
    assert "Enter a colour as # and six hex digits" in response.content.decode()


def test_por1_form_uses_colour_inputs(client_admin_a, org_a):
    page = client_admin_a.get(f"{_base(org_a)}new/").content.decode()
    assert 'type="color"' in page and 'name="primary_colour"' in page


def test_por1_edit_keeps_its_own_slug_and_records_the_change(client_admin_a, org_a, portal_a):
    url = f"{_base(org_a)}{portal_a.pk}/edit/"
    page = client_admin_a.get(url).content.decode()
    assert 'value="help-centre"' in page
    response = client_admin_a.post(url, _form(name="Help desk", slug="help-centre"))
    assert response.status_code == 302
    portal = _portal(pk=portal_a.pk)
    assert portal.name == "Help desk" and portal.primary_colour == "#112233"
    with scopes_disabled():
        entry = AuditLogEntry.objects.get(org=org_a, action="portal.changed")
    assert entry.details["before"]["name"] == "Help centre"


def test_por1_disable_and_enable_after_a_confirmation(client_admin_a, org_a, portal_a):
    url = f"{_base(org_a)}{portal_a.pk}/toggle/"
    confirm = client_admin_a.get(url).content.decode()
    assert "Disable the portal Help centre?" in confirm
    assert _portal(pk=portal_a.pk).is_enabled  # a GET changes nothing
    assert client_admin_a.post(url).status_code == 302
    assert not _portal(pk=portal_a.pk).is_enabled
    assert "Disabled" in client_admin_a.get(_base(org_a)).content.decode()
    assert "Enable the portal Help centre?" in client_admin_a.get(url).content.decode()
    client_admin_a.post(url)
    assert _portal(pk=portal_a.pk).is_enabled
    with scopes_disabled():
        codes = list(
            AuditLogEntry.objects.filter(org=org_a, action__startswith="portal.").values_list(
                "action", flat=True
            )
        )
    assert sorted(codes) == ["portal.disabled", "portal.enabled"]


def test_por1_delete_says_how_many_portal_users_go_with_it(client_admin_a, org_a, portal_a):
    with scopes_disabled():
        group = UserGroupFactory(portal=portal_a)
        PortalUserFactory(group=group)
        PortalUserFactory(group=group)
    url = f"{_base(org_a)}{portal_a.pk}/delete/"
    assert "2 portal users go with it." in client_admin_a.get(url).content.decode()
    assert client_admin_a.post(url).status_code == 302
    with scopes_disabled():
        assert not Portal.objects.filter(pk=portal_a.pk).exists()
        assert not UserGroup.objects.filter(pk=group.pk).exists()
        entry = AuditLogEntry.objects.get(org=org_a, action="portal.deleted")
    assert entry.details["users"] == 2


def test_por1_services_refuse_without_manage_portals_and_other_orgs_objects(
    org_a, org_b, admin_b, portal_a, portal_user_manager
):
    arguments = dict(
        name="X",
        slug="x-portal",
        languages=["en"],
        default_language="en",
        primary_colour="#000000",
        background_colour="#ffffff",
    )
    with scopes_disabled():
        with pytest.raises(PermissionDenied):
            config.portal_create(org=org_a, actor=portal_user_manager, **arguments)
        with pytest.raises(PermissionDenied):
            config.portal_set_enabled(
                org=org_a, actor=portal_user_manager, portal=portal_a, enabled=False
            )
        with pytest.raises(PermissionDenied):
            config.portal_update(org=org_b, actor=admin_b, portal=portal_a, **arguments)
        with pytest.raises(PermissionDenied):
            config.portal_delete(org=org_b, actor=admin_b, portal=portal_a)
        with pytest.raises(ActionRefused):
            config.portal_create(org=org_b, actor=admin_b, **{**arguments, "slug": "help-centre"})
    assert _portal(pk=portal_a.pk).is_enabled


def test_por1_portal_user_manager_sees_portals_read_only(
    org_a, portal_a, portal_user_manager, portal_manager
):
    client = client_for(portal_user_manager)
    listing = client.get(_base(org_a)).content.decode()
    assert "Help centre" in listing and f"{_base(org_a)}new/" not in listing
    detail = client.get(f"{_base(org_a)}{portal_a.pk}/").content.decode()
    assert f"{portal_a.pk}/edit/" not in detail and f"{portal_a.pk}/delete/" not in detail
    assert f"{portal_a.pk}/groups/" not in detail
    assert client.get(f"{_base(org_a)}{portal_a.pk}/edit/").status_code == 403
    assert client.post(f"{_base(org_a)}{portal_a.pk}/toggle/").status_code == 403
    assert client.get(f"{_base(org_a)}{portal_a.pk}/groups/").status_code == 403
    manager = client_for(portal_manager)
    assert f"{portal_a.pk}/edit/" in manager.get(f"{_base(org_a)}{portal_a.pk}/").content.decode()


def test_por1_nav_shows_portals_to_those_who_manage_them(
    org_a, member_a, portal_user_manager, portal_manager
):
    link = f'href="{_base(org_a)}"'
    assert link in client_for(portal_manager).get(f"/o/{org_a.slug}/").content.decode()
    assert link in client_for(portal_user_manager).get(f"/o/{org_a.slug}/").content.decode()
    member = client_for(member_a)
    assert link not in member.get(f"/o/{org_a.slug}/").content.decode()
    assert member.get(_base(org_a)).status_code == 403


def test_por1_another_orgs_portal_is_404(client_admin_b, org_a, org_b, portal_a):
    for suffix in ("", "edit/", "toggle/", "delete/", "groups/", "groups/new/", "logo/"):
        assert client_admin_b.get(f"{_base(org_b)}{portal_a.pk}/{suffix}").status_code == 404


def test_por1_list_statement_count_is_pinned(client_admin_a, org_a, django_assert_max_num_queries):
    with scopes_disabled():
        for _n in range(5):
            portal = PortalFactory(org=org_a)
            PortalUserFactory(group__portal=portal)
    with django_assert_max_num_queries(12):
        response = client_admin_a.get(_base(org_a))
    assert response.content.decode().count("/portal/portal-") >= 5


# --- user groups (POR-2) -------------------------------------------------------------------


@pytest.fixture
def loyalty(org_a):
    with scopes_disabled():
        field = CustomField.objects.create(
            org=org_a,
            module="contacts",
            key="loyalty_tier",
            label="Loyalty tier",
            field_type="text",
        )
    forget_field_registry()
    return field


def _group_form(**overrides):
    data = {
        "name": "Customers",
        "contacts-shared": "on",
        "contacts-actions": ["view", "edit"],
        "contacts-records": "own",
        "contacts-fields_shown": ["first_name", "last_name", "email", "loyalty_tier"],
        "contacts-fields_editable": ["email", "loyalty_tier"],
        "accounts-records": "account",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_por2_group_editor_lists_every_module_and_custom_fields(
    client_admin_a, org_a, portal_a, loyalty
):
    page = client_admin_a.get(f"{_base(org_a)}{portal_a.pk}/groups/new/").content.decode()
    for module in config.group_modules():
        assert f'name="{module}-shared"' in page
    assert 'value="loyalty_tier"' in page and "Loyalty tier" in page
    for action in ("View", "Create", "Edit", "Add notes", "Add attachments"):
        assert action in page


def test_por2_group_round_trip_with_a_custom_field(client_admin_a, org_a, portal_a, loyalty):
    url = f"{_base(org_a)}{portal_a.pk}/groups/new/"
    response = client_admin_a.post(url, _group_form())
    assert response.status_code == 302
    with scopes_disabled():
        group = UserGroup.objects.get(portal=portal_a)
    assert group.org == org_a
    assert group.modules == {
        "contacts": {
            "actions": ["view", "edit"],
            "records": "own",
            "fields_shown": ["first_name", "last_name", "email", "loyalty_tier"],
            "fields_editable": ["email", "loyalty_tier"],
        }
    }
    edit = client_admin_a.get(f"{_base(org_a)}{portal_a.pk}/groups/{group.pk}/edit/")
    page = edit.content.decode()
    assert re.search(r'name="contacts-fields_shown" value="loyalty_tier"[^>]*checked', page)
    assert re.search(r'name="contacts-fields_editable" value="loyalty_tier"[^>]*checked', page)
    listing = client_admin_a.get(f"{_base(org_a)}{portal_a.pk}/groups/").content.decode()
    assert "Customers" in listing and "Contacts" in listing
    response = client_admin_a.post(
        f"{_base(org_a)}{portal_a.pk}/groups/{group.pk}/edit/",
        _group_form(
            **{
                "accounts-shared": "on",
                "accounts-actions": ["view"],
                "accounts-fields_shown": ["name", "website"],
            }
        ),
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.modules["accounts"]["records"] == "account"
    with scopes_disabled():
        actions = set(
            AuditLogEntry.objects.filter(org=org_a, action__startswith="usergroup.").values_list(
                "action", flat=True
            )
        )
    assert actions == {"usergroup.created", "usergroup.changed"}


def test_por2_editable_fields_must_be_shown(client_admin_a, org_a, portal_a):
    response = client_admin_a.post(
        f"{_base(org_a)}{portal_a.pk}/groups/new/",
        _group_form(**{"contacts-fields_editable": ["phone"], "contacts-fields_shown": ["email"]}),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "A field can be editable only if it is shown." in page
    assert 'value="Customers"' in page
    assert not UserGroup.objects.with_scopes_disabled().filter(portal=portal_a).exists()


def test_por2_actions_imply_view(client_admin_a, org_a, portal_a, loyalty):
    response = client_admin_a.post(
        f"{_base(org_a)}{portal_a.pk}/groups/new/",
        _group_form(**{"contacts-actions": ["edit", "notes"]}),
    )
    assert "creating, editing, notes and attachments imply it" in response.content.decode()
    assert not UserGroup.objects.with_scopes_disabled().filter(portal=portal_a).exists()


def test_por2_service_validates_unknown_keys(org_a, admin_a, portal_a):
    good = {"actions": ["view"], "records": "own", "fields_shown": ["email"]}
    cases = [
        {"tickets": good},
        {"contacts": {**good, "actions": ["view", "delete"]}},
        {"contacts": {**good, "records": "everyone"}},
        {"contacts": {**good, "fields_shown": ["email", "salary"]}},
        {"contacts": {**good, "fields_editable": ["phone"]}},
    ]
    with scopes_disabled():
        for modules in cases:
            with pytest.raises(ActionRefused):
                config.usergroup_create(
                    org=org_a, actor=admin_a, portal=portal_a, name="G", modules=modules
                )
        assert not UserGroup.objects.filter(portal=portal_a).exists()


def test_por2_group_field_keys_ignore_deleted_fields(org_a, admin_a, portal_a, loyalty):
    with scopes_disabled():
        group = config.usergroup_create(
            org=org_a,
            actor=admin_a,
            portal=portal_a,
            name="G",
            modules={
                "contacts": {
                    "actions": ["view", "edit"],
                    "records": "own",
                    "fields_shown": ["loyalty_tier", "email"],
                    "fields_editable": ["loyalty_tier"],
                }
            },
        )
        assert config.group_field_keys(group, "contacts") == (
            ["email", "loyalty_tier"],
            ["loyalty_tier"],
        )
        loyalty.delete()
        forget_field_registry()
        assert config.group_field_keys(group, "contacts") == (["email"], [])
        assert config.group_field_keys(group, "accounts") == ([], [])


def test_por2_delete_refused_while_portal_users_are_in_it(client_admin_a, org_a, portal_a):
    with scopes_disabled():
        group = UserGroupFactory(portal=portal_a, name="Partners")
        PortalUserFactory(group=group)
    url = f"{_base(org_a)}{portal_a.pk}/groups/{group.pk}/delete/"
    response = client_admin_a.post(url)
    assert response.status_code == 200
    assert "1 portal user is in Partners. Move them to another group first." in (
        response.content.decode()
    )
    assert UserGroup.objects.with_scopes_disabled().filter(pk=group.pk).exists()


def test_por2_delete_an_unused_group(client_admin_a, org_a, portal_a):
    with scopes_disabled():
        group = UserGroupFactory(portal=portal_a, name="Partners")
    url = f"{_base(org_a)}{portal_a.pk}/groups/{group.pk}/delete/"
    assert "Delete the user group Partners?" in client_admin_a.get(url).content.decode()
    assert client_admin_a.post(url).status_code == 302
    assert not UserGroup.objects.with_scopes_disabled().filter(pk=group.pk).exists()


def test_por2_groups_need_manage_portals(org_a, portal_a, portal_user_manager, member_a):
    with scopes_disabled():
        group = UserGroupFactory(portal=portal_a)
    for person in (portal_user_manager, member_a):
        client = client_for(person)
        for suffix in ("groups/", "groups/new/", f"groups/{group.pk}/edit/"):
            assert client.get(f"{_base(org_a)}{portal_a.pk}/{suffix}").status_code == 403
        post = client.post(f"{_base(org_a)}{portal_a.pk}/groups/{group.pk}/delete/")
        assert post.status_code == 403
    with scopes_disabled(), pytest.raises(PermissionDenied):
        config.usergroup_delete(org=org_a, actor=portal_user_manager, group=group)


def test_por2_another_orgs_group_is_404(client_admin_a, org_a, org_b, portal_a):
    with scopes_disabled():
        other = UserGroupFactory(portal__org=org_b)
    for suffix in ("edit/", "delete/"):
        url = f"{_base(org_a)}{portal_a.pk}/groups/{other.pk}/{suffix}"
        assert client_admin_a.get(url).status_code == 404
