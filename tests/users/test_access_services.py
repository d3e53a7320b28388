"""The rules behind the profile, role and territory pages (USR-1, USR-2, USR-8), the audit
entries they write (USR-9), and what a role tree means for who sees which contacts (USR-2)."""

import pytest
from django.core.exceptions import PermissionDenied
from django_scopes import scope, scopes_disabled

from crm_portal.exceptions import ActionRefused
from records.selectors import contacts_visible_to
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory, builtin_profile, role_named
from users import permissions
from users.models import AuditLogEntry, Profile, Role, Territory
from users.services.access import (
    profile_delete,
    profile_save,
    role_delete,
    role_save,
    territories_enable,
    territory_delete,
    territory_save,
)

IP = "203.0.113.7"


def audit_actions(org):
    with scopes_disabled():
        return list(
            AuditLogEntry.objects.filter(org=org)
            .order_by("pk")
            .values_list("action", "actor_id", "ip_address")
        )


@pytest.fixture
def act(org_a, admin_a):
    """Call a service as org A's admin, inside org A's scope, as a view would."""

    def call(service, **kwargs):
        with scope(org=org_a):
            return service(org=org_a, actor=admin_a, ip=IP, **kwargs)

    return call


# --- USR-1 profiles ----------------------------------------------------------------------------


def test_usr1_custom_profile_permissions_saved(act, org_a, admin_a):
    codes = [permissions.MANAGE_USERS, "contacts.create", "contacts.create"]
    profile = act(profile_save, name="  Sales  ", description=" Field ", permission_codes=codes)
    with scopes_disabled():
        profile = Profile.objects.get(pk=profile.pk)
    assert (profile.name, profile.description, profile.builtin) == ("Sales", "Field", "")
    assert profile.permissions == ["contacts.create", "manage_users"]
    assert profile.allows(permissions.MANAGE_USERS) and not profile.allows(permissions.EXPORT)
    assert audit_actions(org_a) == [("profile.created", admin_a.pk, IP)]


def test_usr1_unknown_permission_code_is_refused(act, org_a):
    with pytest.raises(ActionRefused, match="Unknown permission: fly"):
        act(profile_save, name="Sales", permission_codes=["contacts.edit", "fly"])
    with scopes_disabled():
        assert not Profile.objects.filter(org=org_a, name="Sales").exists()
    assert audit_actions(org_a) == []


def test_usr1_builtin_profile_keeps_its_name_and_permissions(act, org_a):
    """Built-ins are shown translated from their fixed name, so they keep it (X-1)."""
    standard = builtin_profile(org_a, Profile.STANDARD)
    act(
        profile_save,
        profile=standard,
        name="Standard user",
        permission_codes=[permissions.MANAGE_USERS],
    )
    standard.refresh_from_db()
    assert standard.name == "Standard"
    assert standard.permissions == permissions.STANDARD_PERMISSIONS


@pytest.mark.parametrize(
    ("name", "message"),
    [("administrator", "administrator exists already."), ("  ", "Enter a name.")],
)
def test_usr1_profile_name_must_be_given_and_unique(act, org_a, name, message):
    with pytest.raises(ActionRefused, match=message) as refused:
        act(profile_save, name=name)
    assert refused.value.field == "name"
    assert audit_actions(org_a) == []


def test_usr1_builtin_profile_cannot_be_deleted(act, org_a):
    with pytest.raises(ActionRefused, match="Built-in profiles cannot be deleted."):
        act(profile_delete, profile=builtin_profile(org_a, Profile.STANDARD))


def test_usr1_profile_in_use_cannot_be_deleted(act, org_a):
    with scopes_disabled():
        sales = Profile.objects.create(org=org_a, name="Sales")
        CrmUserFactory(org=org_a, profile=sales, status="deactivated")
    with pytest.raises(ActionRefused, match="Sales is given to 1 user"):
        act(profile_delete, profile=sales)
    with scopes_disabled():
        assert Profile.objects.filter(pk=sales.pk).exists()


def test_usr1_unused_custom_profile_is_deleted_and_audited(act, org_a, admin_a):
    with scopes_disabled():
        sales = Profile.objects.create(org=org_a, name="Sales")
    act(profile_delete, profile=sales)
    with scopes_disabled():
        assert not Profile.objects.filter(pk=sales.pk).exists()
        entry = AuditLogEntry.objects.get(org=org_a)
    assert (entry.action, entry.actor_id, entry.details) == (
        "profile.deleted",
        admin_a.pk,
        {"profile": "Sales"},
    )


def test_usr1_member_without_manage_users_may_not_change_access(org_a, member_a):
    with scope(org=org_a), pytest.raises(PermissionDenied):
        profile_save(org=org_a, actor=member_a, name="Mine")
    with scope(org=org_a), pytest.raises(PermissionDenied):
        role_delete(org=org_a, actor=member_a, role=role_named(org_a, "Manager"))
    with scope(org=org_a), pytest.raises(PermissionDenied):
        territories_enable(org=org_a, actor=member_a, enabled=True)
    org_a.refresh_from_db()
    assert not org_a.territories_enabled
    assert audit_actions(org_a) == []


def test_usr1_another_orgs_objects_are_refused(act, org_b):
    with scopes_disabled():
        their_role = Role.objects.get(org=org_b, name="Manager")
        their_profile = builtin_profile(org_b, Profile.STANDARD)
    with pytest.raises(PermissionDenied):
        act(role_save, name="Spy", parent=their_role)
    with pytest.raises(PermissionDenied):
        act(profile_save, profile=their_profile, name="Spy")


# --- USR-2 roles -------------------------------------------------------------------------------


@pytest.fixture
def tree(org_a):
    """CEO → Manager → Rep, the org's default CEO and Manager plus one role below."""
    with scopes_disabled():
        ceo, manager = role_named(org_a, "CEO"), role_named(org_a, "Manager")
        rep = Role.objects.create(org=org_a, name="Rep", parent=manager)
    return ceo, manager, rep


def test_usr2_role_cannot_report_to_itself(act, tree):
    _ceo, manager, _rep = tree
    with pytest.raises(ActionRefused, match="cannot report to itself") as refused:
        act(role_save, role=manager, name="Manager", parent=manager)
    assert refused.value.field == "parent"


def test_usr2_role_cannot_report_to_its_descendant(act, org_a, tree):
    ceo, manager, rep = tree
    with scopes_disabled():
        rep_child = Role.objects.create(org=org_a, name="Junior", parent=rep)
    for below in (rep, rep_child):
        with pytest.raises(ActionRefused, match="or to a role below it"):
            act(role_save, role=manager, name="Manager", parent=below)
    manager.refresh_from_db()
    assert manager.parent_id == ceo.pk


def test_usr2_top_role_reports_to_no_one(act, tree):
    ceo, manager, _rep = tree
    with pytest.raises(ActionRefused, match="The top role reports to no one."):
        act(role_save, role=ceo, name="CEO", parent=manager)
    with pytest.raises(ActionRefused, match="The top role cannot be deleted."):
        act(role_delete, role=ceo)
    ceo.refresh_from_db()
    assert ceo.parent_id is None


def test_usr2_new_role_must_report_to_someone(act, org_a):
    with pytest.raises(ActionRefused, match="Choose the role this one reports to."):
        act(role_save, name="Floating", parent=None)
    with scopes_disabled():
        assert not Role.objects.filter(org=org_a, name="Floating").exists()


def test_usr2_role_moves_and_is_audited(act, org_a, admin_a, tree):
    ceo, manager, rep = tree
    act(role_save, role=rep, name="Sales rep", parent=ceo, share_with_peers=True)
    rep.refresh_from_db()
    assert (rep.name, rep.parent_id, rep.share_with_peers) == ("Sales rep", ceo.pk, True)
    with scopes_disabled():
        entry = AuditLogEntry.objects.get(org=org_a)
    assert (entry.action, entry.actor_id, entry.ip_address) == ("role.changed", admin_a.pk, IP)
    assert entry.details["before"]["parent"] != entry.details["after"]["parent"]
    assert entry.details["after"] == {
        "name": "Sales rep",
        "parent": "CEO",
        "share_with_peers": True,
    }
    assert entry.details["before"] == {
        "name": "Rep",
        "parent": "Manager",
        "share_with_peers": False,
    }


def test_usr2_role_with_children_or_users_cannot_be_deleted(act, org_a, tree):
    _ceo, manager, rep = tree
    with pytest.raises(ActionRefused, match="Move or delete the roles that report to Manager"):
        act(role_delete, role=manager)
    with scopes_disabled():
        CrmUserFactory(org=org_a, role=rep, status="unconfirmed", user=None)
    with pytest.raises(ActionRefused, match="Give the users in Rep another role first."):
        act(role_delete, role=rep)
    with scopes_disabled():
        assert Role.objects.filter(org=org_a).count() == 3
    assert audit_actions(org_a) == []


class TestUsr2Visibility:
    """CEO → Manager → Rep (two reps), and Support beside Manager under the CEO. Each member
    owns one contact; one contact has no owner."""

    @pytest.fixture
    def cast(self, org_a, admin_a, tree):
        ceo, manager, rep = tree
        with scopes_disabled():
            support = Role.objects.create(org=org_a, name="Support", parent=ceo)
            people = {
                "ceo": CrmUserFactory(org=org_a, role=ceo, last_name="Chief"),
                "manager": CrmUserFactory(org=org_a, role=manager, last_name="Manny"),
                "rep1": CrmUserFactory(org=org_a, role=rep, last_name="Rep1"),
                "rep2": CrmUserFactory(org=org_a, role=rep, last_name="Rep2"),
                "support": CrmUserFactory(org=org_a, role=support, last_name="Helper"),
                # An administrator sits low in the tree and still sees everything.
                "admin": CrmUserFactory(
                    org=org_a,
                    role=rep,
                    profile=builtin_profile(org_a, Profile.ADMINISTRATOR),
                    last_name="Admin2",
                ),
            }
            for key, member in people.items():
                ContactFactory(org=org_a, owner=member, last_name=f"of-{key}")
            ContactFactory(org=org_a, owner=None, last_name="of-nobody")
            ContactFactory(org=org_a, owner=admin_a, last_name="of-super-admin")
        return people

    @staticmethod
    def seen_by(member):
        with scopes_disabled():
            member.refresh_from_db()
            names = contacts_visible_to(membership=member).values_list("last_name", flat=True)
            return {name.removeprefix("of-") for name in names}

    def test_usr2_each_member_sees_own_and_below(self, cast):
        # The super admin is in the CEO role too: a peer, so not seen while CEO doesn't share.
        assert self.seen_by(cast["ceo"]) == {"ceo", "manager", "rep1", "rep2", "support", "admin"}
        assert self.seen_by(cast["manager"]) == {"manager", "rep1", "rep2", "admin"}
        assert self.seen_by(cast["rep1"]) == {"rep1"}
        assert self.seen_by(cast["rep2"]) == {"rep2"}
        assert self.seen_by(cast["support"]) == {"support"}

    def test_usr2_peers_see_each_other_only_when_the_role_shares(self, act, cast, tree):
        _ceo, manager, rep = tree
        act(role_save, role=rep, name="Rep", parent=manager, share_with_peers=True)
        assert self.seen_by(cast["rep1"]) == {"rep1", "rep2", "admin"}
        assert self.seen_by(cast["rep2"]) == {"rep1", "rep2", "admin"}
        assert self.seen_by(cast["manager"]) == {"manager", "rep1", "rep2", "admin"}
        act(role_save, role=rep, name="Rep", parent=manager, share_with_peers=False)
        assert self.seen_by(cast["rep1"]) == {"rep1"}

    def test_usr2_sharing_does_not_reach_up_or_sideways(self, act, cast, tree):
        ceo, manager, _rep = tree
        act(role_save, role=manager, name="Manager", parent=ceo, share_with_peers=True)
        assert self.seen_by(cast["manager"]) == {"manager", "rep1", "rep2", "admin"}
        assert self.seen_by(cast["support"]) == {"support"}

    def test_usr2_top_role_peers_share_too(self, act, cast, tree):
        ceo, _manager, _rep = tree
        act(role_save, role=ceo, name="CEO", parent=None, share_with_peers=True)
        assert "super-admin" in self.seen_by(cast["ceo"])
        assert "nobody" not in self.seen_by(cast["ceo"]), "unowned records are for admins"

    def test_usr2_moving_a_role_changes_who_sees_what(self, act, cast, tree, org_a):
        _ceo, manager, _rep = tree
        with scopes_disabled():
            support = Role.objects.get(org=org_a, name="Support")
        act(role_save, role=support, name="Support", parent=manager)
        assert self.seen_by(cast["manager"]) == {"manager", "rep1", "rep2", "admin", "support"}

    def test_usr2_admins_see_everything(self, cast, admin_a):
        everything = {
            "ceo", "manager", "rep1", "rep2", "support", "admin", "nobody", "super-admin"
        }  # fmt: skip
        assert self.seen_by(cast["admin"]) == everything
        assert self.seen_by(admin_a) == everything


# --- USR-8 territories -------------------------------------------------------------------------


def test_usr8_territories_turn_on_and_off_with_audit(act, org_a, admin_a):
    act(territories_enable, enabled=True)
    org_a.refresh_from_db()
    assert org_a.territories_enabled
    act(territories_enable, enabled=False)
    org_a.refresh_from_db()
    assert not org_a.territories_enabled
    assert audit_actions(org_a) == [
        ("territories.enabled", admin_a.pk, IP),
        ("territories.disabled", admin_a.pk, IP),
    ]


def test_usr8_territory_tree_rules(act, org_a):
    europe = act(territory_save, name="Europe", parent=None)
    france = act(territory_save, name="France", parent=europe)
    with pytest.raises(ActionRefused, match="cannot sit inside itself") as refused:
        act(territory_save, territory=europe, name="Europe", parent=france)
    assert refused.value.field == "parent"
    with pytest.raises(ActionRefused, match="europe exists already."):
        act(territory_save, name="europe", parent=None)
    with pytest.raises(ActionRefused, match="Delete or move the territories inside Europe"):
        act(territory_delete, territory=europe)
    europe.refresh_from_db()
    assert europe.parent_id is None


def test_usr8_deleting_a_territory_unassigns_its_users(act, org_a, admin_a, member_a):
    with scopes_disabled():
        france = Territory.objects.create(org=org_a, name="France")
        member_a.territories.add(france)
    act(territory_delete, territory=france)
    with scopes_disabled():
        assert not member_a.territories.exists()
        entry = AuditLogEntry.objects.get(org=org_a)
    assert (entry.action, entry.actor_id, entry.ip_address) == ("territory.deleted", admin_a.pk, IP)
    assert entry.details == {"territory": "France", "users": 1}
