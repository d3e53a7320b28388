"""Profiles and roles on the contact pages: USR-1 (what a user may do) and USR-2 (which
records a user sees)."""

import pytest
from django.core.exceptions import PermissionDenied
from django_scopes import scope, scopes_disabled

from records.models import Contact
from records.services import contact_create, contact_update
from tests.conftest import client_for
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory
from users.models import Profile, Role


@pytest.fixture
def viewer_only(org_a):
    """A user whose custom profile allows no record changes."""
    with scopes_disabled():
        profile = Profile.objects.create(org=org_a, name="Read only", permissions=[])
        return CrmUserFactory(org=org_a, profile=profile)


def test_usr1_profile_without_create_gets_403_and_no_button(viewer_only, org_a):
    client = client_for(viewer_only)
    listing = client.get(f"/o/{org_a.slug}/contacts/").content.decode()
    assert "New contact" not in listing and "Add your first contact" not in listing
    assert client.get(f"/o/{org_a.slug}/contacts/new/").status_code == 403
    assert client.post(f"/o/{org_a.slug}/contacts/new/", {"last_name": "X"}).status_code == 403
    with scopes_disabled():
        assert not Contact.objects.exists()


def test_usr1_profile_without_edit_gets_403(viewer_only, org_a):
    with scopes_disabled():
        contact = ContactFactory(org=org_a, owner=viewer_only)
    client = client_for(viewer_only)
    url = f"/o/{org_a.slug}/contacts/{contact.pk}/"
    assert "Edit" not in client.get(url).content.decode().split("<main")[1].split("History")[0]
    response = client.post(url + "edit/", {"last_name": "Changed"})
    assert response.status_code == 403
    with scopes_disabled():
        assert Contact.objects.get(pk=contact.pk).last_name != "Changed"


def test_usr1_services_enforce_the_profile_too(viewer_only, org_a):
    with scope(org=org_a), pytest.raises(PermissionDenied):
        contact_create(org=org_a, actor=viewer_only, data={"last_name": "X"})
    with scopes_disabled():
        contact = ContactFactory(org=org_a)
    with scope(org=org_a), pytest.raises(PermissionDenied):
        contact_update(contact=contact, actor=viewer_only, data={"last_name": "Y"})


@pytest.fixture
def team(org_a, admin_a):
    """CEO (admin) → Manager → Rep; a Standard user in each of Manager and Rep."""
    with scopes_disabled():
        manager_role = Role.objects.get(org=org_a, name="Manager")
        rep_role = Role.objects.create(org=org_a, name="Rep", parent=manager_role)
        manager = CrmUserFactory(org=org_a, role=manager_role, last_name="Boss")
        rep = CrmUserFactory(org=org_a, role=rep_role, last_name="Rep")
        peer = CrmUserFactory(org=org_a, role=rep_role, last_name="Peer")
        contacts = {
            who.last_name: ContactFactory(org=org_a, owner=who, last_name=f"Of{who.last_name}")
            for who in (admin_a, manager, rep, peer)
        }
    return {"manager": manager, "rep": rep, "peer": peer, "rep_role": rep_role, **contacts}


def names_seen(membership, org):
    body = client_for(membership).get(f"/o/{org.slug}/contacts/").content.decode()
    return sorted(n for n in ("OfAdmin", "OfBoss", "OfRep", "OfPeer") if n in body)


def test_usr2_list_shows_own_and_below_and_admins_see_all(team, org_a, admin_a):
    assert names_seen(admin_a, org_a) == ["OfAdmin", "OfBoss", "OfPeer", "OfRep"]
    assert names_seen(team["manager"], org_a) == ["OfBoss", "OfPeer", "OfRep"]
    assert names_seen(team["rep"], org_a) == ["OfRep"]


def test_usr2_peers_share_when_the_role_says_so(team, org_a):
    with scopes_disabled():
        Role.objects.filter(pk=team["rep_role"].pk).update(share_with_peers=True)
    assert names_seen(team["rep"], org_a) == ["OfPeer", "OfRep"]


def test_usr2_a_record_above_you_is_a_404(team, org_a):
    client = client_for(team["rep"])
    assert client.get(f"/o/{org_a.slug}/contacts/{team['Boss'].pk}/").status_code == 404
    assert client.get(f"/o/{org_a.slug}/contacts/{team['Boss'].pk}/edit/").status_code == 404
    assert client.get(f"/o/{org_a.slug}/contacts/{team['Rep'].pk}/").status_code == 200
