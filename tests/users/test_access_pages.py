"""The profile, role and territory pages (USR-1, USR-2, USR-8): what an admin sees and does
there, what a Standard member is refused, and the audit entry every change leaves (USR-9)."""

from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from records.selectors import contacts_visible_to
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory, builtin_profile, role_named
from users import permissions
from users.models import AuditLogEntry, Organization, Profile, Role, Territory


def url(org, suffix=""):
    return f"/o/{org.slug}/settings/{suffix}"


def audit(org):
    with scopes_disabled():
        return list(
            AuditLogEntry.objects.filter(org=org)
            .order_by("pk")
            .values_list("action", "actor_id", "ip_address")
        )


def state(org):
    """Everything these pages could change in an org."""
    with scopes_disabled():
        return {
            "profiles": sorted(Profile.objects.filter(org=org).values_list()),
            "roles": sorted(Role.objects.filter(org=org).values_list()),
            "territories": sorted(Territory.objects.filter(org=org).values_list()),
            "switch": Organization.objects.get(pk=org.pk).territories_enabled,
            "audit": AuditLogEntry.objects.filter(org=org).count(),
        }


def tree_parents(body: str, prefix: str) -> dict[int, int | None]:
    """{pk: pk of the enclosing item} for every <li id="<prefix>-<pk>"> of a tree page."""

    class Parser(HTMLParser):
        stack: list[int | None] = []
        parents: dict[int, int | None] = {}

        def handle_starttag(self, tag, attrs):
            if tag != "li":
                return
            li_id = dict(attrs).get("id") or ""
            pk = int(li_id.removeprefix(f"{prefix}-")) if li_id.startswith(f"{prefix}-") else None
            if pk is not None:
                self.parents[pk] = next((p for p in reversed(self.stack) if p), None)
            self.stack.append(pk)

        def handle_endtag(self, tag):
            if tag == "li":
                self.stack.pop()

    parser = Parser()
    parser.stack, parser.parents = [], {}
    parser.feed(body)
    return parser.parents


def permission_boxes(body: str) -> dict[str, dict]:
    """{permission code: attributes of its checkbox} in the page."""
    found: dict[str, dict] = {}

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "input" and attrs.get("name") == "permissions":
                found[attrs["value"]] = attrs

    Parser().feed(body)
    return found


def checked(body: str) -> set[str]:
    return {code for code, attrs in permission_boxes(body).items() if "checked" in attrs}


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.fixture
def things(org_a):
    """One custom profile, one role under the top role, one territory of org A."""
    with scopes_disabled():
        return {
            "profile": Profile.objects.create(org=org_a, name="Sales", permissions=["export"]),
            "role": Role.objects.create(org=org_a, name="Rep", parent=role_named(org_a, "CEO")),
            "territory": Territory.objects.create(org=org_a, name="Europe"),
        }


PAGES = [
    "profiles/",
    "profiles/new/",
    "profiles/{profile}/edit/",
    "profiles/{profile}/delete/",
    "roles/",
    "roles/new/",
    "roles/{role}/edit/",
    "roles/{role}/delete/",
    "territories/",
    "territories/toggle/",
    "territories/new/",
    "territories/{territory}/edit/",
    "territories/{territory}/delete/",
]
GET_ONLY = {"profiles/", "roles/", "territories/"}
POST_ONLY = {"territories/toggle/"}


def page_url(org, page, things):
    return url(org, page.format(**{k: v.pk for k, v in things.items()}))


# --- who may, and how ------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_usr1_standard_member_gets_403_everywhere(client_member_a, org_a, things, page, admin_a):
    path = page_url(org_a, page, things)
    before = state(org_a)
    assert client_member_a.get(path).status_code == 403
    hostile = {"name": "Mallory", "parent": "", "enabled": "on", "permissions": ["manage_users"]}
    assert client_member_a.post(path, hostile).status_code == 403
    assert state(org_a) == before


@pytest.mark.parametrize("page", PAGES)
def test_usr1_wrong_method_gets_405(client_admin_a, org_a, things, page):
    path = page_url(org_a, page, things)
    before = state(org_a)
    for method in ("put", "patch", "delete"):
        assert getattr(client_admin_a, method)(path).status_code == 405
    if page in GET_ONLY:
        assert client_admin_a.post(path, {"name": "X"}).status_code == 405
    if page in POST_ONLY:
        assert client_admin_a.get(path).status_code == 405
    assert state(org_a) == before


def test_usr1_custom_profile_with_manage_users_opens_the_pages(org_a, member_a, things):
    from tests.conftest import client_for

    with scopes_disabled():
        member_a.profile = Profile.objects.create(
            org=org_a, name="Team leads", permissions=[permissions.MANAGE_USERS]
        )
        member_a.save()
    client = client_for(member_a)
    for page in PAGES:
        if page not in POST_ONLY:
            assert client.get(page_url(org_a, page, things)).status_code == 200, page


def test_usr1_subnavigation_links_the_three_pages(client_admin_a, org_a):
    body = client_admin_a.get(url(org_a, "roles/")).content.decode()
    for suffix in ("profiles/", "roles/", "territories/"):
        assert f'href="{url(org_a, suffix)}"' in body
    assert f'href="{url(org_a, "roles/")}" aria-current="page"' in body


# --- USR-1 profiles --------------------------------------------------------------------------


def test_usr1_profile_list_shows_builtin_and_custom_profiles(client_admin_a, org_a, things):
    with scopes_disabled():
        CrmUserFactory(org=org_a, profile=things["profile"])
    body = client_admin_a.get(url(org_a, "profiles/")).content.decode()
    for name in ("Administrator", "Standard", "Sales"):
        assert f">{name}</a>" in body
    assert body.count("built-in") == 2
    assert f"1 of {len(permissions.ALL_CODES)}" in body
    profile_pk = things["profile"].pk
    assert f'href="{url(org_a, f"profiles/{profile_pk}/delete/")}"' in body
    standard = builtin_profile(org_a, Profile.STANDARD)
    assert f"profiles/{standard.pk}/delete/" not in body, "built-ins offer no delete"


def test_usr1_profile_list_query_count_does_not_grow(client_admin_a, org_a):
    few = count_queries(client_admin_a, url(org_a, "profiles/"))
    with scopes_disabled():
        for n in range(15):
            profile = Profile.objects.create(org=org_a, name=f"Custom {n}")
            CrmUserFactory(org=org_a, profile=profile)
    assert count_queries(client_admin_a, url(org_a, "profiles/")) == few <= 8


def test_usr1_custom_profile_permissions_saved(client_admin_a, org_a, admin_a):
    response = client_admin_a.post(
        url(org_a, "profiles/new/"),
        {
            "name": "Field sales",
            "description": "On the road",
            "permissions": [permissions.EXPORT, "contacts.create"],
        },
        follow=True,
    )
    assert response.redirect_chain == [(url(org_a, "profiles/"), 302)]
    body = response.content.decode()
    assert "Profile Field sales created." in body
    with scopes_disabled():
        profile = Profile.objects.get(org=org_a, name="Field sales")
    assert profile.description == "On the road"
    assert profile.permissions == ["contacts.create", "export"]
    assert audit(org_a) == [("profile.created", admin_a.pk, "127.0.0.1")]


def test_usr1_profile_edit_shows_and_changes_permissions(client_admin_a, org_a, things, admin_a):
    edit = url(org_a, f"profiles/{things['profile'].pk}/edit/")
    form = client_admin_a.get(edit).content.decode()
    assert "Edit profile Sales" in form
    assert checked(form) == {"export"}
    response = client_admin_a.post(
        edit, {"name": "Sales", "permissions": [permissions.IMPORT]}, follow=True
    )
    assert "Profile Sales saved." in response.content.decode()
    things["profile"].refresh_from_db()
    assert things["profile"].permissions == ["import"]
    assert audit(org_a) == [("profile.changed", admin_a.pk, "127.0.0.1")]


def test_usr1_builtin_profile_permissions_are_read_only(client_admin_a, org_a):
    standard = builtin_profile(org_a, Profile.STANDARD)
    edit = url(org_a, f"profiles/{standard.pk}/edit/")
    form = client_admin_a.get(edit).content.decode()
    assert "The permissions of a built-in profile cannot change." in form
    boxes = permission_boxes(form)
    assert set(boxes) == permissions.ALL_CODES
    assert all("disabled" in attrs for attrs in boxes.values())
    assert checked(form) == set(permissions.STANDARD_PERMISSIONS)
    client_admin_a.post(edit, {"name": "Standard", "permissions": [permissions.MANAGE_USERS]})
    standard.refresh_from_db()
    assert standard.permissions == permissions.STANDARD_PERMISSIONS
    administrator = builtin_profile(org_a, Profile.ADMINISTRATOR)
    admin_form = client_admin_a.get(url(org_a, f"profiles/{administrator.pk}/edit/"))
    assert "The Administrator profile can do everything" in admin_form.content.decode()


def test_x1_permission_labels_follow_the_users_language(client_admin_a, org_a, admin_a):
    """Shows a bug in users/permissions.py: the record permission labels are built with an
    f-string at import time, so they stay English ("Contacts: create") for a Japanese user."""
    admin_a.user.language = "ja"
    admin_a.user.save()
    body = client_admin_a.get(url(org_a, "profiles/new/")).content.decode()
    assert 'lang="ja"' in body
    assert "連絡先: " in body and "Contacts: " not in body


@pytest.mark.parametrize(
    ("posted", "error"),
    [
        ({"name": "standard", "description": "Typed text"}, "standard exists already."),
        ({"name": "   ", "description": "Typed text"}, "This field is required."),
        (
            {"name": "Sales", "description": "Typed text", "permissions": ["export", "fly"]},
            "Select a valid choice. fly is not one of the available choices.",
        ),
    ],
    ids=["duplicate-name", "empty-name", "unknown-permission"],
)
def test_usr1_bad_profile_input_keeps_values_and_writes_nothing(
    client_admin_a, org_a, posted, error
):
    before = state(org_a)
    response = client_admin_a.post(url(org_a, "profiles/new/"), posted)
    body = response.content.decode()
    assert response.status_code == 200
    assert error in body
    assert "Typed text</textarea>" in body
    if posted["name"].strip():
        assert f'value="{posted["name"]}"' in body
    assert checked(body) == ({"export"} if "permissions" in posted else set())
    assert state(org_a) == before


def test_usr1_delete_custom_profile_after_confirmation(client_admin_a, org_a, things, admin_a):
    delete = url(org_a, f"profiles/{things['profile'].pk}/delete/")
    confirm = client_admin_a.get(delete).content.decode()
    assert "Delete the profile Sales?" in confirm and "0 users have this profile." in confirm
    with scopes_disabled():
        assert Profile.objects.filter(pk=things["profile"].pk).exists(), "GET deletes nothing"
    response = client_admin_a.post(delete, follow=True)
    assert response.redirect_chain == [(url(org_a, "profiles/"), 302)]
    assert "Profile Sales deleted." in response.content.decode()
    with scopes_disabled():
        assert not Profile.objects.filter(pk=things["profile"].pk).exists()
    assert audit(org_a) == [("profile.deleted", admin_a.pk, "127.0.0.1")]


def test_usr1_builtin_profile_cannot_be_deleted(client_admin_a, org_a):
    standard = builtin_profile(org_a, Profile.STANDARD)
    before = state(org_a)
    response = client_admin_a.post(url(org_a, f"profiles/{standard.pk}/delete/"))
    assert response.status_code == 200
    assert "Built-in profiles cannot be deleted." in response.content.decode()
    assert state(org_a) == before


def test_usr1_profile_in_use_cannot_be_deleted(client_admin_a, org_a, things, member_a):
    with scopes_disabled():
        member_a.profile = things["profile"]
        member_a.save()
    delete = url(org_a, f"profiles/{things['profile'].pk}/delete/")
    assert "1 user has this profile." in client_admin_a.get(delete).content.decode()
    before = state(org_a)
    body = client_admin_a.post(delete).content.decode()
    assert "Sales is given to 1 user. Give them another profile first." in body
    assert state(org_a) == before


# --- USR-2 roles -----------------------------------------------------------------------------


@pytest.fixture
def roles(org_a):
    """CEO → Manager → Rep (shares with peers), CEO → Support; two users in Rep."""
    with scopes_disabled():
        ceo, manager = role_named(org_a, "CEO"), role_named(org_a, "Manager")
        rep = Role.objects.create(org=org_a, name="Rep", parent=manager, share_with_peers=True)
        support = Role.objects.create(org=org_a, name="Support", parent=ceo)
        CrmUserFactory.create_batch(2, org=org_a, role=rep)
    return {"ceo": ceo, "manager": manager, "rep": rep, "support": support}


def test_usr2_role_tree_shows_nesting_members_and_sharing(client_admin_a, org_a, roles):
    body = client_admin_a.get(url(org_a, "roles/")).content.decode()
    pk = {name: role.pk for name, role in roles.items()}
    assert tree_parents(body, "role") == {
        pk["ceo"]: None,
        pk["manager"]: pk["ceo"],
        pk["support"]: pk["ceo"],
        pk["rep"]: pk["manager"],
    }
    rep_item = body[body.index(f'id="role-{pk["rep"]}"') :]
    assert "2 users" in rep_item[:600] and "shares data with peers" in rep_item[:600]
    assert f'href="{url(org_a, "roles/new/")}?parent={pk["rep"]}"' in body
    rep_delete = url(org_a, f"roles/{pk['rep']}/delete/")
    assert f'href="{rep_delete}"' in body
    assert f"roles/{pk['ceo']}/delete/" not in body, "the top role offers no delete"
    assert "top role" in body


def test_usr2_role_list_query_count_does_not_grow(client_admin_a, org_a):
    few = count_queries(client_admin_a, url(org_a, "roles/"))
    with scopes_disabled():
        parent = role_named(org_a, "Manager")
        for n in range(15):
            parent = Role.objects.create(org=org_a, name=f"Level {n}", parent=parent)
            CrmUserFactory(org=org_a, role=parent)
    assert count_queries(client_admin_a, url(org_a, "roles/")) == few <= 8


def test_usr2_add_role_below_preselects_the_parent(client_admin_a, org_a, roles, admin_b):
    rep = roles["rep"]
    below_rep = client_admin_a.get(url(org_a, f"roles/new/?parent={rep.pk}")).content.decode()
    assert f'<option value="{rep.pk}" selected>Rep</option>' in below_rep
    ceo = roles["ceo"]
    plain = client_admin_a.get(url(org_a, "roles/new/")).content.decode()
    assert f'<option value="{ceo.pk}" selected>CEO</option>' in plain
    other = role_named(admin_b.org, "Manager")
    foreign = client_admin_a.get(url(org_a, f"roles/new/?parent={other.pk}")).content.decode()
    assert f'<option value="{ceo.pk}" selected>CEO</option>' in foreign


def test_usr2_create_role_with_sharing(client_admin_a, org_a, roles, admin_a):
    response = client_admin_a.post(
        url(org_a, "roles/new/"),
        {"name": "Key accounts", "parent": roles["manager"].pk, "share_with_peers": "on"},
        follow=True,
    )
    assert response.redirect_chain == [(url(org_a, "roles/"), 302)]
    body = response.content.decode()
    assert "Role Key accounts created." in body
    with scopes_disabled():
        role = Role.objects.get(org=org_a, name="Key accounts")
    assert (role.parent_id, role.share_with_peers) == (roles["manager"].pk, True)
    assert tree_parents(body, "role")[role.pk] == roles["manager"].pk
    assert audit(org_a) == [("role.created", admin_a.pk, "127.0.0.1")]


def test_usr2_moving_a_role_in_the_page_changes_what_its_users_see(client_admin_a, org_a, roles):
    with scopes_disabled():
        manager = CrmUserFactory(org=org_a, role=roles["manager"])
        helper = CrmUserFactory(org=org_a, role=roles["support"])
        ContactFactory(org=org_a, owner=helper, last_name="Helped")
    edit = url(org_a, f"roles/{roles['support'].pk}/edit/")
    form = client_admin_a.get(edit).content.decode()
    assert 'value="Support"' in form and f'<option value="{roles["ceo"].pk}" selected>' in form

    def seen():
        with scopes_disabled():
            return list(contacts_visible_to(membership=manager).values_list("last_name", flat=True))

    assert seen() == []
    response = client_admin_a.post(
        edit, {"name": "Support", "parent": roles["manager"].pk}, follow=True
    )
    assert "Role Support saved." in response.content.decode()
    assert seen() == ["Helped"]


@pytest.mark.parametrize(
    ("role", "posted", "error"),
    [
        ("manager", {"name": "Typed name", "parent": "manager"}, "cannot report to itself"),
        ("manager", {"name": "Typed name", "parent": "rep"}, "or to a role below it"),
        ("rep", {"name": "support", "parent": "manager"}, "support exists already."),
        ("rep", {"name": "", "parent": "manager"}, "This field is required."),
        ("rep", {"name": "Typed name", "parent": ""}, "Choose the role this one reports to."),
    ],
    ids=["itself", "its-child", "duplicate-name", "empty-name", "no-parent"],
)
def test_usr2_bad_role_input_keeps_values_and_writes_nothing(
    client_admin_a, org_a, roles, role, posted, error
):
    data = {**posted, "parent": roles[posted["parent"]].pk if posted["parent"] else ""}
    before = state(org_a)
    response = client_admin_a.post(url(org_a, f"roles/{roles[role].pk}/edit/"), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert error in body
    if posted["name"]:
        assert f'value="{posted["name"]}"' in body
    if data["parent"]:
        assert f'<option value="{data["parent"]}" selected>' in body
    assert state(org_a) == before


def test_usr2_new_role_may_report_to_the_deepest_role(client_admin_a, org_a, roles):
    """The descendant rule concerns existing roles only: a new role has nothing below it."""
    response = client_admin_a.post(
        url(org_a, "roles/new/"), {"name": "Intern", "parent": roles["rep"].pk}
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert Role.objects.get(org=org_a, name="Intern").parent_id == roles["rep"].pk


def test_usr2_top_role_gets_no_parent(client_admin_a, org_a, roles):
    edit = url(org_a, f"roles/{roles['ceo'].pk}/edit/")
    form = client_admin_a.get(edit).content.decode()
    assert 'name="parent"' not in form
    assert "This is the top role" in form
    response = client_admin_a.post(edit, {"name": "Chief", "parent": roles["manager"].pk})
    assert response.status_code == 302
    roles["ceo"].refresh_from_db()
    assert (roles["ceo"].name, roles["ceo"].parent_id) == ("Chief", None)


def test_usr2_parent_choices_are_only_this_orgs_roles(client_admin_a, org_a, org_b):
    with scopes_disabled():
        theirs = Role.objects.create(
            org=org_b, name="Beta secret desk", parent=role_named(org_b, "CEO")
        )
    form = client_admin_a.get(url(org_a, "roles/new/")).content.decode()
    assert "Beta secret desk" not in form
    before = state(org_a)
    response = client_admin_a.post(url(org_a, "roles/new/"), {"name": "Spy", "parent": theirs.pk})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice" in body and 'value="Spy"' in body
    assert state(org_a) == before


def test_usr2_delete_role_after_confirmation(client_admin_a, org_a, roles, admin_a):
    delete = url(org_a, f"roles/{roles['support'].pk}/delete/")
    confirm = client_admin_a.get(delete).content.decode()
    assert "Delete the role Support?" in confirm
    assert "<dt>Reports to</dt><dd>CEO</dd>" in confirm
    response = client_admin_a.post(delete, follow=True)
    assert response.redirect_chain == [(url(org_a, "roles/"), 302)]
    assert "Role Support deleted." in response.content.decode()
    with scopes_disabled():
        assert not Role.objects.filter(pk=roles["support"].pk).exists()
    assert audit(org_a) == [("role.deleted", admin_a.pk, "127.0.0.1")]


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("ceo", "The top role cannot be deleted."),
        ("manager", "Move or delete the roles that report to Manager first."),
        ("rep", "Give the users in Rep another role first."),
    ],
)
def test_usr2_role_in_use_cannot_be_deleted(client_admin_a, org_a, roles, role, error):
    delete = url(org_a, f"roles/{roles[role].pk}/delete/")
    before = state(org_a)
    response = client_admin_a.post(delete)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert state(org_a) == before


# --- USR-8 territories -----------------------------------------------------------------------


def test_usr8_territories_off_explains_and_offers_to_turn_them_on(client_admin_a, org_a):
    body = client_admin_a.get(url(org_a, "territories/")).content.decode()
    assert "Territories group your users" in body
    assert "Territories are off for this organisation." in body
    assert f'action="{url(org_a, "territories/toggle/")}"' in body
    assert 'name="enabled" value="on"' in body
    assert "Turn territories on" in body and 'id="territory-tree"' not in body


def test_usr8_turning_territories_on_and_off(client_admin_a, org_a, admin_a):
    toggle = url(org_a, "territories/toggle/")
    on = client_admin_a.post(toggle, {"enabled": "on"}, follow=True)
    assert on.redirect_chain == [(url(org_a, "territories/"), 302)]
    body = on.content.decode()
    assert "Territories are on." in body and "Turn territories off" in body
    assert "No territories yet." in body
    org_a.refresh_from_db()
    assert org_a.territories_enabled
    off = client_admin_a.post(toggle, {}, follow=True)
    assert "Territories are off. Your territories and assignments are kept" in off.content.decode()
    org_a.refresh_from_db()
    assert not org_a.territories_enabled
    assert audit(org_a) == [
        ("territories.enabled", admin_a.pk, "127.0.0.1"),
        ("territories.disabled", admin_a.pk, "127.0.0.1"),
    ]


@pytest.fixture
def territories(org_a, member_a):
    """Territories on; Europe → France (Mark Member assigned), Asia."""
    with scopes_disabled():
        Organization.objects.filter(pk=org_a.pk).update(territories_enabled=True)
        europe = Territory.objects.create(org=org_a, name="Europe")
        france = Territory.objects.create(org=org_a, name="France", parent=europe)
        asia = Territory.objects.create(org=org_a, name="Asia")
        member_a.territories.add(france)
    return {"europe": europe, "france": france, "asia": asia}


def test_usr8_territory_tree_shows_assigned_users(client_admin_a, org_a, territories):
    body = client_admin_a.get(url(org_a, "territories/")).content.decode()
    pk = {name: t.pk for name, t in territories.items()}
    assert tree_parents(body, "territory") == {
        pk["asia"]: None,
        pk["europe"]: None,
        pk["france"]: pk["europe"],
    }
    france_item = body[body.index(f'id="territory-{pk["france"]}"') :][:400]
    assert "Mark Member" in france_item
    asia_item = body[body.index(f'id="territory-{pk["asia"]}"') :][:400]
    assert "no users assigned" in asia_item
    assert f'href="{url(org_a, "territories/new/")}?parent={pk["france"]}"' in body


def test_usr8_territory_list_query_count_does_not_grow(client_admin_a, org_a, territories):
    few = count_queries(client_admin_a, url(org_a, "territories/"))
    with scopes_disabled():
        for n in range(15):
            territory = Territory.objects.create(org=org_a, name=f"Area {n}")
            CrmUserFactory(org=org_a).territories.add(territory)
    assert count_queries(client_admin_a, url(org_a, "territories/")) == few <= 9


def test_usr8_create_and_edit_territory(client_admin_a, org_a, territories, admin_a):
    europe = territories["europe"]
    form = client_admin_a.get(url(org_a, f"territories/new/?parent={europe.pk}")).content.decode()
    assert f'<option value="{europe.pk}" selected>Europe</option>' in form
    created = client_admin_a.post(
        url(org_a, "territories/new/"), {"name": "Spain", "parent": europe.pk}, follow=True
    )
    assert "Territory Spain created." in created.content.decode()
    with scopes_disabled():
        spain = Territory.objects.get(org=org_a, name="Spain")
    assert spain.parent_id == europe.pk
    edited = client_admin_a.post(
        url(org_a, f"territories/{spain.pk}/edit/"), {"name": "Iberia", "parent": ""}, follow=True
    )
    assert "Territory Iberia saved." in edited.content.decode()
    spain.refresh_from_db()
    assert (spain.name, spain.parent_id) == ("Iberia", None)
    assert sorted(audit(org_a)) == [
        ("territory.changed", admin_a.pk, "127.0.0.1"),
        ("territory.created", admin_a.pk, "127.0.0.1"),
    ]


@pytest.mark.parametrize(
    ("territory", "posted", "error"),
    [
        ("europe", {"name": "Europe", "parent": "france"}, "cannot sit inside itself"),
        ("asia", {"name": "europe", "parent": ""}, "europe exists already."),
        ("asia", {"name": "", "parent": "europe"}, "This field is required."),
    ],
    ids=["inside-its-child", "duplicate-name", "empty-name"],
)
def test_usr8_bad_territory_input_keeps_values_and_writes_nothing(
    client_admin_a, org_a, territories, territory, posted, error
):
    data = {**posted, "parent": territories[posted["parent"]].pk if posted["parent"] else ""}
    before = state(org_a)
    edit = url(org_a, f"territories/{territories[territory].pk}/edit/")
    response = client_admin_a.post(edit, data)
    body = response.content.decode()
    assert response.status_code == 200
    assert error in body
    if data["parent"]:
        assert f'<option value="{data["parent"]}" selected>' in body
    assert state(org_a) == before


def test_usr8_parent_choices_are_only_this_orgs_territories(client_admin_a, org_a, org_b):
    with scopes_disabled():
        theirs = Territory.objects.create(org=org_b, name="Beta land")
    assert "Beta land" not in client_admin_a.get(url(org_a, "territories/new/")).content.decode()
    before = state(org_a)
    response = client_admin_a.post(
        url(org_a, "territories/new/"), {"name": "Spy", "parent": theirs.pk}
    )
    assert "Select a valid choice" in response.content.decode()
    assert state(org_a) == before


def test_usr8_delete_territory_names_what_is_lost(
    client_admin_a, org_a, territories, member_a, admin_a
):
    delete = url(org_a, f"territories/{territories['france'].pk}/delete/")
    confirm = client_admin_a.get(delete).content.decode()
    assert "Delete the territory France?" in confirm
    assert "1 user is assigned to it and will no longer be." in confirm
    response = client_admin_a.post(delete, follow=True)
    assert "Territory France deleted." in response.content.decode()
    with scopes_disabled():
        assert not member_a.territories.exists()
    assert audit(org_a) == [("territory.deleted", admin_a.pk, "127.0.0.1")]


def test_usr8_territory_with_territories_inside_cannot_be_deleted(
    client_admin_a, org_a, territories
):
    delete = url(org_a, f"territories/{territories['europe'].pk}/delete/")
    assert "It holds 1 territory." in client_admin_a.get(delete).content.decode()
    before = state(org_a)
    response = client_admin_a.post(delete)
    assert response.status_code == 200
    assert "Delete or move the territories inside Europe first." in response.content.decode()
    assert state(org_a) == before


def test_x1_builtin_profiles_show_in_the_viewers_language(client_admin_a, org_a):
    """Stored once under their English names, shown translated: an org created while someone
    browsed in Japanese must not end up with Japanese profile names for everyone."""
    client_admin_a.post("/language/", {"language": "ja"})
    body = client_admin_a.get(url(org_a, "profiles/")).content.decode()
    assert "管理者" in body and "スタンダード" in body
    with scopes_disabled():
        assert sorted(Profile.objects.filter(org=org_a).values_list("name", flat=True)) == [
            "Administrator",
            "Standard",
        ]
