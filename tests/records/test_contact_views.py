"""The minimal contact pages that feed the outbox from the UI (REC-2 basics, REC-3)."""

import pytest
from django_scopes import scopes_disabled

from records.models import Contact, RecordEvent
from tests.records.factories import ContactFactory


def url(org, suffix=""):
    return f"/o/{org.slug}/contacts/{suffix}"


def test_rec2_empty_contact_list_offers_to_add_one(client_admin_a, org_a):
    body = client_admin_a.get(url(org_a)).content.decode()
    assert "No contacts yet" in body
    assert f'href="/o/{org_a.slug}/contacts/new/"' in body


def test_rec2_contact_list_paginates_with_fixed_query_count(
    client_admin_a, org_a, django_assert_max_num_queries
):
    with scopes_disabled():
        ContactFactory.create_batch(30, org=org_a)
    # Session, account, membership, count, the page's ids, its rows, the bulk bar's portal
    # groups: 7 since issue 21 (the header's org switcher needs no statement).
    with django_assert_max_num_queries(7):
        first = client_admin_a.get(url(org_a)).content.decode()
    assert "Page 1 of 2" in first
    with scopes_disabled():
        ContactFactory.create_batch(30, org=org_a)
    with django_assert_max_num_queries(7):
        second = client_admin_a.get(url(org_a) + "?page=3").content.decode()
    assert "Page 3 of 3" in second


def test_rec3_creating_a_contact_in_the_ui_writes_one_event(client_admin_a, org_a, admin_a):
    response = client_admin_a.post(
        url(org_a, "new/"),
        {
            "first_name": "Yuki",
            "last_name": "Mori",
            "email": "yuki@example.jp",
            "language": "ja",
            "country": "jp",
            "owner": admin_a.pk,
        },
    )
    with scopes_disabled():
        contact = Contact.objects.get(org=org_a)
        [event] = RecordEvent.objects.filter(org=org_a)
    assert response["Location"] == url(org_a, f"{contact.pk}/")
    assert contact.country == "JP"
    assert (event.kind, event.source, event.actor_id) == ("create", "ui", admin_a.pk)
    detail = client_admin_a.get(response["Location"]).content.decode()
    assert "Yuki Mori created." in detail
    assert "yuki@example.jp" in detail
    assert "Owner: — → Alice Admin" in detail, "the history names the owner, not an id"


def test_rec3_invalid_contact_keeps_input_and_writes_nothing(client_admin_a, org_a):
    response = client_admin_a.post(
        url(org_a, "new/"), {"first_name": "Yuki", "last_name": "", "email": "yuki@"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "“yuki@” is not a valid email address." in body and "Last name is required." in body
    assert 'value="Yuki"' in body and 'value="yuki@"' in body
    with scopes_disabled():
        assert not Contact.objects.exists() and not RecordEvent.objects.exists()


def test_tenancy_owner_choices_are_only_this_orgs_people(client_admin_a, org_a, admin_b):
    response = client_admin_a.post(url(org_a, "new/"), {"last_name": "Mori", "owner": admin_b.pk})
    assert "Select a valid choice" in response.content.decode()
    assert str(admin_b) not in client_admin_a.get(url(org_a, "new/")).content.decode()


def test_rec3_editing_shows_the_change_in_the_history(client_admin_a, org_a, admin_a):
    client_admin_a.post(url(org_a, "new/"), {"last_name": "Mori", "country": "JP"})
    with scopes_disabled():
        contact = Contact.objects.get(org=org_a)
    edit = url(org_a, f"{contact.pk}/edit/")
    # As the browser posts it: the edit form shows the owner the new contact got (REC-5).
    shown = {"last_name": "Mori", "owner": admin_a.pk}
    same = client_admin_a.post(edit, {**shown, "country": "JP"}, follow=True)
    assert "Nothing changed." in same.content.decode()
    changed = client_admin_a.post(edit, {**shown, "country": "FR"}, follow=True)
    body = changed.content.decode()
    assert "Mori saved." in body
    assert "Country: Japan → France" in body  # names, not codes (issue 11)
    with scopes_disabled():
        assert [e.kind for e in RecordEvent.objects.order_by("pk")] == ["create", "update"]


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_contact_pages_refuse_other_methods(client_admin_a, org_a, method):
    with scopes_disabled():
        contact = ContactFactory(org=org_a)
    for path in (url(org_a), url(org_a, f"{contact.pk}/"), url(org_a, f"{contact.pk}/edit/")):
        assert getattr(client_admin_a, method)(path).status_code == 405
