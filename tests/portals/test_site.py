"""The portal site (POR-7, POR-2, POR-1, X-2, X-3; issue 12 Deliver 4): sign-in branded with
the portal, its closed page, exactly the records of the group's slice with the group's fields,
create and edit with the CRM's validation and a "portal" event, and no CRM page for a portal
user."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from portals import site
from portals.models import PortalUser
from records.field_services import custom_field_create
from records.models import Contact, RecordEvent
from tests.portals.site_world import PASSWORD, group_modules, make_world
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory, UserFactory
from users import middleware
from users.models import Organization

# Session, account, portal, portal user, the CRM navigation's membership look-up, the count,
# the page (the field registry is read once per process and org).
LIST_STATEMENTS = 7


@pytest.fixture
def world(db):
    return make_world(group_modules("related", actions=("view", "create", "edit")))


def sign_in(world, password=PASSWORD, email=None, next_url=""):
    client = Client()
    data = {"login": email or world.portal_user.user.email, "password": password}
    if next_url:
        data["next"] = next_url
    return client, client.post(world.url("sign-in/"), data)


def text(response) -> str:
    return response.content.decode()


def test_por7_sign_in_with_the_right_password_lands_on_the_portal_home(world):
    client, response = sign_in(world)
    assert response.status_code == 302
    assert response["Location"] == world.url()
    home = client.get(world.url())
    assert home.status_code == 200
    assert "Acme Help Centre" in text(home)
    assert "Welcome to Acme Help Centre" in text(home)


def test_por7_sign_in_page_carries_the_portal_brand_and_theme(world):
    response = Client().get(world.url("sign-in/"))
    assert response.status_code == 200
    assert "Sign in to Acme Help Centre" in text(response)
    assert f"/portal/{world.portal.slug}/theme.css?v=" in text(response)
    assert 'style="' not in text(response)  # CSP: no inline styles


def test_por1_theme_serves_validated_colours_with_a_long_cache(world):
    with scopes_disabled():
        world.portal.primary_colour = "#ff0000"
        world.portal.background_colour = "red;}x"
        world.portal.save()
    response = Client().get(world.url("theme.css"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    css = text(response)
    assert "--portal-primary: #ff0000" in css
    assert "red;" not in css and "--portal-background: #f5f7fb" in css
    assert "max-age=31536000" in response["Cache-Control"]


def test_por7_wrong_password_is_refused_with_a_clear_error(world):
    client, response = sign_in(world, password="not-the-password")
    assert response.status_code == 200
    assert "not correct" in text(response)
    assert client.get(world.url()).status_code == 302


def test_por7_next_stays_inside_the_portal(world):
    _client, response = sign_in(world, next_url="https://evil.test/")
    assert response["Location"] == world.url()
    _client, response = sign_in(world, next_url=world.url("contacts/"))
    assert response["Location"] == world.url("contacts/")


def test_por7_anonymous_visitor_goes_to_the_portals_sign_in_with_next(world):
    response = Client().get(world.url("contacts/"))
    assert response.status_code == 302
    assert response["Location"].startswith(world.url("sign-in/") + "?next=")


def test_por1_disabled_portal_shows_its_closed_page_at_sign_in_and_on_every_page(world):
    with scopes_disabled():
        world.portal.is_enabled = False
        world.portal.save()
    anonymous = Client().get(world.url("sign-in/"))
    assert anonymous.status_code == 403
    assert "This portal is closed for now" in text(anonymous)
    assert "Acme Help Centre" in text(anonymous)
    refused = Client().post(
        world.url("sign-in/"), {"login": world.portal_user.email, "password": PASSWORD}
    )
    assert refused.status_code == 403
    for tail in ("", "contacts/", f"contacts/{world.me.pk}/"):
        response = world.client().get(world.url(tail))
        assert response.status_code == 403, tail
        assert "This portal is closed for now" in text(response)


def test_por4_disabled_portal_user_cannot_sign_in_nor_open_pages(world):
    with scopes_disabled():
        PortalUser.objects.filter(pk=world.portal_user.pk).update(status=PortalUser.Status.DISABLED)
    client, response = sign_in(world)
    assert response.status_code == 200
    assert "not correct" in text(response)
    assert world.client().get(world.url()).status_code == 404


def test_por4_login_pending_user_still_signs_in(world):
    with scopes_disabled():
        PortalUser.objects.filter(pk=world.portal_user.pk).update(
            status=PortalUser.Status.LOGIN_PENDING
        )
    client, response = sign_in(world)
    assert response.status_code == 302
    assert client.get(world.url()).status_code == 200


def test_por1_unknown_portal_is_404(world):
    assert Client().get("/portal/no-such-portal/sign-in/").status_code == 404
    assert world.client().get("/portal/no-such-portal/").status_code == 404


def test_por7_someone_not_of_this_portal_sees_a_page_with_sign_out(world):
    with scopes_disabled():
        crm_member = CrmUserFactory(org=world.portal.org)
    client = Client()
    client.force_login(crm_member.user)
    response = client.get(world.url("sign-in/"))
    assert response.status_code == 403
    assert "No access to this portal" in text(response)
    assert f'action="{world.url("sign-out/")}"' in text(response)
    assert client.get(world.url()).status_code == 404
    # Their right password does not make them a portal user either.
    _client, response = sign_in(world, email=crm_member.user.email)
    assert "not correct" in text(response)


def test_x2_an_account_with_totp_goes_through_allauths_two_factor_stage(world):
    TOTP.activate(world.portal_user.user, generate_totp_secret())
    client, response = sign_in(world)
    assert response.status_code == 302
    assert response["Location"] == world.url("sign-in/two-factor/")  # in the portal (pprofile)
    assert client.get(world.url()).status_code == 302  # not signed in yet


def test_por7_sign_out_is_a_post_and_ends_the_session(world):
    client = world.client()
    assert client.get(world.url("sign-out/")).status_code == 405
    response = client.post(world.url("sign-out/"))
    assert response["Location"] == world.url("sign-in/")
    assert client.get(world.url()).status_code == 302


def test_por7_home_lists_the_shared_modules(world):
    response = world.client().get(world.url())
    assert world.url("contacts/") in text(response)
    assert world.url("accounts/") in text(response)
    with scopes_disabled():
        world.group.modules = {"contacts": world.group.modules["contacts"]}
        world.group.save()
    response = world.client().get(world.url())
    assert world.url("accounts/") not in text(response)
    assert world.client().get(world.url("accounts/")).status_code == 404


def test_por2_related_list_shows_exactly_the_slice_with_the_groups_fields(world):
    with scopes_disabled():
        Contact.objects.filter(pk=world.colleague.pk).update(secondary_email="hidden@example.org")
    response = world.client().get(world.url("contacts/"))
    assert response.status_code == 200
    page = text(response)
    assert "Portal" in page and "Colleague" in page
    assert "Stranger" not in page and "Foreign" not in page
    assert "hidden@example.org" not in page  # a field the group does not show
    assert world.colleague.email in page


def test_por2_scopes_reach_exactly_their_records(world):
    def reached(scope, module="contacts"):
        with scopes_disabled():
            world.group.modules = group_modules(scope)
            world.group.save()
            portal_user = PortalUser.objects.select_related("group", "contact").get(
                pk=world.portal_user.pk
            )
            shared = site.shared_module(portal_user, module)
            return set(site.reachable_records(portal_user, shared).values_list("pk", flat=True))

    assert reached("own") == {world.me.pk}
    assert reached("related") == {world.me.pk, world.colleague.pk}
    assert reached("account") == {world.me.pk, world.colleague.pk}
    for scope in ("own", "related", "account"):
        assert reached(scope, "accounts") == {world.account.pk}


def test_por2_fields_no_longer_in_the_registry_are_ignored(world):
    with scopes_disabled():
        world.group.modules["contacts"]["fields_shown"] = ["last_name", "gone_field"]
        world.group.save()
    response = world.client().get(world.url("contacts/"))
    assert response.status_code == 200
    assert "gone_field" not in text(response)


def test_por7_search_sort_and_an_unknown_sort_key(world):
    client = world.client()
    found = text(client.get(world.url("contacts/"), {"q": "Colleague"}))
    assert "Colleague" in found and "Paula" not in found
    for sort in ("last_name", "-last_name", "secondary_email", "password", "-pk"):
        assert client.get(world.url("contacts/"), {"sort": sort}).status_code == 200
    listed = text(client.get(world.url("contacts/"), {"sort": "-last_name"}))
    assert listed.index("Portal") < listed.index("Colleague")


def test_por7_list_pages_run_a_fixed_number_of_statements(world, django_assert_num_queries):
    with scopes_disabled():
        for n in range(60):
            ContactFactory(org=world.portal.org, account=world.account, last_name=f"Mate{n:02}")
    client = world.client()
    client.get(world.url("contacts/"))  # warm the field registry of this process
    counts = []
    for page in ("1", "2", "3"):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(world.url("contacts/"), {"page": page})
        assert response.status_code == 200
        counts.append(len(captured))
    print("statements per list page:", counts)
    assert counts == [LIST_STATEMENTS] * 3, counts
    with django_assert_num_queries(LIST_STATEMENTS):
        client.get(world.url("contacts/"), {"page": "2", "sort": "-email", "q": "Mate"})


def test_por7_detail_outside_the_slice_is_404(world):
    client = world.client()
    assert client.get(world.url(f"contacts/{world.colleague.pk}/")).status_code == 200
    for pk in (world.stranger.pk, world.foreign.pk, 999999):
        response = client.get(world.url(f"contacts/{pk}/"))
        assert response.status_code == 404
        assert "Page not found" in text(response)
    assert client.get(world.url(f"accounts/{world.other_account.pk}/")).status_code == 404
    assert client.get(world.url("nothing/")).status_code == 404


def test_por7_edit_saves_an_editable_field_with_a_portal_event(world):
    response = world.client().post(
        world.url(f"contacts/{world.me.pk}/edit/"),
        {"phone": "+81 3 1234 5678", "email": "changed@evil.test"},
    )
    assert response.status_code == 302
    with scopes_disabled():
        me = Contact.objects.get(pk=world.me.pk)
        event = RecordEvent.objects.filter(record_id=me.pk, module="contacts").last()
    assert me.phone == "+81 3 1234 5678"
    assert me.email == world.me.email  # not editable: ignored
    assert event.source == site.PORTAL_SOURCE and set(event.changes) == {"phone"}


def test_por7_a_non_editable_field_is_refused_by_the_service(world):
    with scopes_disabled():
        portal_user = PortalUser.objects.get(pk=world.portal_user.pk)
        shared = site.shared_module(portal_user, "contacts")
        with pytest.raises(site.ValidationError) as error:
            site.portal_record_update(portal_user, shared, world.me, {"email": "x@example.org"})
    assert "email" in error.value.message_dict


def test_por7_edit_uses_the_crms_validation_and_keeps_the_typed_value(world):
    response = world.client().post(world.url(f"contacts/{world.me.pk}/edit/"), {"phone": "abc"})
    assert response.status_code == 200
    assert 'value="abc"' in text(response)
    assert "error-summary" in text(response)


def test_por7_edit_and_create_need_the_groups_permission(db):
    world = make_world(group_modules("related"))  # view only
    client = world.client()
    assert client.get(world.url(f"contacts/{world.me.pk}/edit/")).status_code == 404
    assert client.get(world.url("contacts/new/")).status_code == 404
    edit = client.post(world.url(f"contacts/{world.me.pk}/edit/"), {"phone": "1"})
    assert edit.status_code == 404


def test_por7_create_writes_a_record_event_with_source_portal(db):
    world = make_world(
        group_modules("related", actions=("view", "create"), editable=("last_name", "phone"))
    )
    response = world.client().post(world.url("contacts/new/"), {"last_name": "Newcomer"})
    assert response.status_code == 302
    with scopes_disabled():
        created = Contact.objects.get(last_name="Newcomer")
        event = RecordEvent.objects.get(record_id=created.pk, module="contacts", kind="create")
    assert created.org == world.portal.org and created.account == world.account
    assert event.source == "portal"
    assert response["Location"] == world.url(f"contacts/{created.pk}/")


def test_por7_create_refuses_bad_input_with_a_clear_error(db):
    world = make_world(
        group_modules("related", actions=("view", "create"), editable=("last_name", "phone"))
    )
    response = world.client().post(world.url("contacts/new/"), {"phone": "+1 555 0100"})
    assert response.status_code == 200
    assert 'value="+1 555 0100"' in text(response)
    with scopes_disabled():
        assert not Contact.objects.filter(phone="+1 555 0100").exists()


def test_por7_a_portal_user_never_reaches_crm_pages(world):
    client = world.client()
    assert client.get(f"/o/{world.portal.org.slug}/").status_code == 404
    assert client.get(f"/o/{world.portal.org.slug}/contacts/").status_code == 404
    assert client.get(f"/o/{world.portal.org.slug}/contacts/{world.me.pk}/").status_code == 404
    assert client.get("/").status_code == 404


def test_por7_sign_in_page_offers_the_portals_languages_to_visitors(world):
    client = Client()
    assert '<html lang="en">' in text(client.get(world.url("sign-in/")))
    client.post(world.url("language/"), {"language": "ja"})
    page = text(client.get(world.url("sign-in/")))
    assert '<html lang="ja">' in page
    assert 'name="language"' in page


def test_por7_pages_follow_the_portal_users_language_and_the_switch(world):
    client = world.client()
    assert '<html lang="en">' in text(client.get(world.url()))
    response = client.post(world.url("language/"), {"language": "ja", "next": world.url()})
    assert response["Location"] == world.url()
    assert '<html lang="ja">' in text(client.get(world.url()))
    client.post(world.url("language/"), {"language": "fr"})  # not offered: unchanged
    with scopes_disabled():
        assert PortalUser.objects.get(pk=world.portal_user.pk).language == "ja"


def test_por7_portal_language_falls_back_to_the_portals_default(world):
    with scopes_disabled():
        world.portal.languages = ["ja"]
        world.portal.default_language = "ja"
        world.portal.save()
    assert '<html lang="ja">' in text(world.client().get(world.url()))


def test_x3_idle_timeout_applies_the_portals_org_and_returns_to_its_sign_in(world, monkeypatch):
    Organization.objects.filter(pk=world.portal.org.pk).update(idle_timeout_minutes=5)
    clock = {"now": 1_000_000.0}
    monkeypatch.setattr(middleware, "now", lambda: clock["now"])
    client = world.client()
    assert client.get(world.url()).status_code == 200
    clock["now"] += 4 * 60
    assert client.get(world.url()).status_code == 200
    clock["now"] += 6 * 60
    response = client.get(world.url("contacts/"))
    assert response.status_code == 302
    assert response["Location"].startswith(world.url("sign-in/"))
    assert client.get(world.url()).status_code == 302


def test_por7_the_accounts_own_sign_in_does_not_need_a_portal_account(db):
    """A portal user's account signs in only at its portal; a plain account is no portal
    user anywhere (POR-7)."""
    world = make_world()
    stranger = UserFactory()
    client = Client()
    client.force_login(stranger)
    assert client.get(world.url()).status_code == 404


def test_por2_a_record_page_names_the_record_by_shown_fields_only(world):
    with scopes_disabled():
        world.group.modules["contacts"]["fields_shown"] = ["phone", "email"]
        world.group.modules["contacts"]["fields_editable"] = ["phone"]
        world.group.save()
    client = world.client()
    for tail in (f"contacts/{world.me.pk}/", f"contacts/{world.me.pk}/edit/", "contacts/"):
        page = text(client.get(world.url(tail)))
        assert "Paula" not in page.split("<main", 1)[1], tail
        assert world.me.email in page, tail


def test_por7_allauths_rate_limit_guards_the_portal_sign_in(world):
    client = Client()
    address = world.url("sign-in/")
    for _attempt in range(6):
        client.post(address, {"login": world.portal_user.email, "password": "wrong"})
    response = client.post(address, {"login": world.portal_user.email, "password": PASSWORD})
    assert response.status_code in (200, 429)
    assert client.get(world.url()).status_code == 302  # still not signed in


HOSTILE = ["\x00", "x" * 10_000, "-1", "99999999999999999999999", "1e9", "%00", "<script>"]


@pytest.mark.parametrize("value", HOSTILE)
def test_por7_hostile_parameters_never_make_a_500(world, value):
    """X-6 on the portal site: NUL bytes, 10 KB strings, huge and negative numbers."""
    client = world.client()
    for name in ("q", "sort", "page", "next"):
        for tail in ("", "contacts/", "accounts/", f"contacts/{world.me.pk}/"):
            assert client.get(world.url(tail), {name: value}).status_code == 200, (tail, name)
    assert client.get(world.url("contacts/99999999999999999999999/")).status_code == 404
    switched = client.post(world.url("language/"), {"language": value, "next": value})
    assert switched.status_code == 302
    edit = client.post(world.url(f"contacts/{world.me.pk}/edit/"), {"phone": value})
    assert edit.status_code in (200, 302)
    response = Client().post(world.url("sign-in/"), {"login": value, "password": value})
    assert response.status_code == 200


def test_por7_x1_portal_pages_in_japanese_have_no_english_ui_words(world):
    with scopes_disabled():
        PortalUser.objects.filter(pk=world.portal_user.pk).update(language="ja")
    client = world.client()
    english = ["Sign out", "Home", "Search", "Edit", "Back to the list", "Welcome to", "Save"]
    for tail in ("", "contacts/", f"contacts/{world.me.pk}/", f"contacts/{world.me.pk}/edit/"):
        page = text(client.get(world.url(tail)))
        assert '<html lang="ja">' in page
        assert not [word for word in english if f">{word}" in page], tail
    missing = text(client.get(world.url(f"contacts/{world.stranger.pk}/")))
    assert "ページが見つかりません" in missing


def test_por2_a_custom_field_is_shown_and_edited_with_the_crms_validation(world):
    with scopes_disabled():
        admin = CrmUserFactory(org=world.portal.org, is_super_admin=True)
        field = custom_field_create(
            org=world.portal.org, actor=admin, module="contacts", label="Seats", field_type="number"
        )
        modules = world.group.modules
        modules["contacts"]["fields_shown"].append(field.key)
        modules["contacts"]["fields_editable"].append(field.key)
        world.group.save()
    client = world.client()
    assert "Seats" in text(client.get(world.url("contacts/")))
    refused = client.post(world.url(f"contacts/{world.me.pk}/edit/"), {field.key: "many"})
    assert refused.status_code == 200 and 'value="many"' in text(refused)
    saved = client.post(world.url(f"contacts/{world.me.pk}/edit/"), {field.key: "12"})
    assert saved.status_code == 302
    detail = text(client.get(world.url(f"contacts/{world.me.pk}/")))
    assert f'data-field="{field.key}">12<' in detail
