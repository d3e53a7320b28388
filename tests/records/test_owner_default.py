"""REC-5 (issue 11, bug 1): a new record's owner defaults to the member who creates it — in the
UI, the API (the token's creator, unless the body names an owner) and imports (the importer,
unless a column maps it) — so a Standard user sees the contact they just created (USR-2)."""

import json

from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from records.api import api_token_create
from records.models import Contact
from records.services import contact_create
from tests.conftest import client_for


def test_rec5_standard_user_sees_the_contact_they_just_created(org_a, member_a):
    """The bug: last name only → Save answered 404 on the new contact's page and the list
    said 0, because the contact had no owner and role visibility hid it."""
    client = client_for(member_a)
    response = client.post(
        reverse("contact_create", kwargs={"org_slug": org_a.slug}), {"last_name": "Tanaka"}
    )
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    listing = client.get(reverse("contact_list", kwargs={"org_slug": org_a.slug}))
    assert "Tanaka" in listing.content.decode()
    with scopes_disabled():
        assert Contact.objects.get(last_name="Tanaka").owner == member_a


def test_rec5_the_new_contact_form_offers_me_as_owner(org_a, member_a):
    client = client_for(member_a)
    page = client.get(reverse("contact_create", kwargs={"org_slug": org_a.slug}))
    owner = page.context["form"]["owner"]
    assert owner.value() == member_a.pk
    assert f'<option value="{member_a.pk}" selected>' in str(owner)


def test_rec5_an_emptied_owner_on_create_is_still_the_creator(org_a, member_a):
    """A creator always sees what they created: an empty owner on create means "me"."""
    client = client_for(member_a)
    client.post(
        reverse("contact_create", kwargs={"org_slug": org_a.slug}),
        {"last_name": "Sato", "owner": ""},
    )
    with scopes_disabled():
        assert Contact.objects.get(last_name="Sato").owner == member_a


def test_rec5_an_owner_chosen_in_the_form_is_kept(org_a, admin_a, member_a):
    client = client_for(admin_a)
    client.post(
        reverse("contact_create", kwargs={"org_slug": org_a.slug}),
        {"last_name": "Mori", "owner": member_a.pk},
    )
    with scopes_disabled():
        assert Contact.objects.get(last_name="Mori").owner == member_a


def test_rec5_api_contacts_belong_to_the_tokens_creator_unless_the_body_names_one(
    org_a, admin_a, member_a
):
    with scope(org=org_a):
        _token, secret = api_token_create(org=org_a, actor=admin_a, name="Website")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    created = api.post(
        "/api/v1/contacts/", json.dumps({"last_name": "Ito"}), content_type="application/json"
    ).json()
    assert created["owner"] == admin_a.pk
    named = api.post(
        "/api/v1/contacts/",
        json.dumps({"last_name": "Abe", "owner": member_a.pk}),
        content_type="application/json",
    ).json()
    assert named["owner"] == member_a.pk


def test_rec5_the_system_creating_with_no_owner_leaves_none(org_a):
    """No member, no token: the demo seed and the like create records with no owner, which
    admins see."""
    with scope(org=org_a):
        contact = contact_create(org=org_a, actor=None, data={"last_name": "Nobody"})
    assert contact.owner is None
