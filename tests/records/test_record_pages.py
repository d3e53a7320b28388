"""Record pages (REC-2): contacts and accounts lists with filters, sort and pagination at a
fixed number of queries; detail with related records; create, edit and delete."""

import pytest
from django_scopes import scopes_disabled

from records.models import Account, Contact, CustomField, RecordEvent
from tests.conftest import client_for
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory
from users.models import Profile


def page_url(org, path=""):
    return f"/o/{org.slug}/{path}"


@pytest.fixture
def crowd(org_a, admin_a, member_a):
    with scopes_disabled():
        acme = Account.objects.create(org=org_a, name="Acme KK", owner=admin_a)
        ContactFactory(
            org=org_a,
            first_name="Aiko",
            last_name="Abe",
            email="aiko@x.jp",
            subscription="paid",
            country="JP",
            owner=admin_a,
            account=acme,
        )
        ContactFactory(
            org=org_a,
            first_name="Bruno",
            last_name="Blanc",
            email="bruno@x.fr",
            subscription="free",
            country="FR",
            owner=member_a,
        )
        ContactFactory(
            org=org_a,
            first_name="Chloé",
            last_name="Chevalier",
            email="chloe@x.fr",
            subscription="paid",
            country="FR",
            owner=member_a,
        )
    return acme


def names(body):
    return [n for n in ("Abe", "Blanc", "Chevalier") if f"{n}</a>" in body]


def test_rec2_filters_and_search(client_admin_a, org_a, crowd, member_a):
    get = lambda q: client_admin_a.get(page_url(org_a, f"contacts/?{q}")).content.decode()  # noqa: E731
    assert names(get("subscription=paid")) == ["Abe", "Chevalier"]
    assert names(get("country=fr")) == ["Blanc", "Chevalier"]
    assert names(get(f"owner={member_a.pk}&subscription=paid")) == ["Chevalier"]
    assert names(get("q=bruno")) == ["Blanc"]
    assert names(get("q=X.FR")) == ["Blanc", "Chevalier"]
    empty = get("q=nobody")
    assert "No contact matches these filters." in empty


def test_rec2_sort_orders_and_keeps_filters_across_pages(client_admin_a, org_a, crowd):
    body = client_admin_a.get(page_url(org_a, "contacts/?sort=-name")).content.decode()
    assert body.index("Chevalier</a>") < body.index("Blanc</a>") < body.index("Abe</a>")
    with scopes_disabled():
        ContactFactory.create_batch(30, org=org_a, subscription="paid")
    first = client_admin_a.get(page_url(org_a, "contacts/?subscription=paid")).content.decode()
    assert "subscription=paid&amp;page=2" in first
    assert 'id="total">32<' in first


def test_rec2_list_makes_a_fixed_number_of_queries_at_any_size(
    client_admin_a, org_a, crowd, django_assert_max_num_queries
):
    """The list counts, then reads one page with owners and accounts joined: the number of
    queries does not grow with the org's contacts."""
    with django_assert_max_num_queries(12) as small:
        client_admin_a.get(page_url(org_a, "contacts/?sort=-created"))
    with scopes_disabled():
        ContactFactory.create_batch(300, org=org_a)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client_admin_a.get(page_url(org_a, "contacts/?sort=-created&page=7"))
    with django_assert_max_num_queries(12):
        client_admin_a.get(page_url(org_a, "accounts/"))


def test_rec2_pages_walk_every_visible_contact_once_in_order(org_a, admin_a, member_a):
    """Pages read ids first, then the rows: walking all pages gives each contact exactly
    once, in the sort's order, for an admin and for a member who sees part of the org."""
    with scopes_disabled():
        ContactFactory.create_batch(30, org=org_a, owner=admin_a, last_name="Same")
        ContactFactory.create_batch(23, org=org_a, owner=member_a, last_name="Same")
        expected = {
            who: list(
                Contact.objects.filter(org=org_a, **mine)
                .order_by("-last_name", "-first_name", "-pk")
                .values_list("pk", flat=True)
            )
            for who, mine in (("admin", {}), ("member", {"owner": member_a}))
        }
    for who, membership in (("admin", admin_a), ("member", member_a)):
        client = client_for(membership)
        seen, number, more = [], 1, True
        while more:
            response = client.get(page_url(org_a, f"contacts/?sort=-name&page={number}"))
            page = response.context["page"]
            seen += [c.pk for c in page.object_list]
            number, more = number + 1, page.has_next()
        assert seen == expected[who], who
        assert number - 1 == {"admin": 3, "member": 1}[who]


def test_rec2_account_pages_create_show_contacts_and_delete(client_admin_a, org_a, crowd):
    response = client_admin_a.post(
        page_url(org_a, "accounts/new/"),
        {"name": "Blue Sky GmbH", "country": "de", "phone": "+49 30 1"},
    )
    with scopes_disabled():
        blue = Account.objects.get(name="Blue Sky GmbH")
        assert RecordEvent.objects.filter(module="accounts", record_id=blue.pk).count() == 1
    assert response["Location"] == page_url(org_a, f"accounts/{blue.pk}/")
    assert blue.country == "DE"
    detail = client_admin_a.get(page_url(org_a, f"accounts/{crowd.pk}/")).content.decode()
    assert "Contacts of this account" in detail and "Aiko Abe" in detail
    confirm = client_admin_a.get(page_url(org_a, f"accounts/{crowd.pk}/delete/"))
    assert "Its contacts stay, without an account." in confirm.content.decode()
    client_admin_a.post(page_url(org_a, f"accounts/{crowd.pk}/delete/"))
    with scopes_disabled():
        assert not Account.objects.filter(pk=crowd.pk).exists()
        assert Contact.objects.get(last_name="Abe").account is None


def test_rec2_account_name_is_required_and_input_kept(client_admin_a, org_a):
    response = client_admin_a.post(
        page_url(org_a, "accounts/new/"), {"name": "", "website": "Typed site", "country": "France"}
    )
    body = response.content.decode()
    assert "Account name is required." in body
    assert "must be a two-letter country code" in body
    assert 'value="Typed site"' in body
    with scopes_disabled():
        assert not Account.objects.exists()


def test_rec1_custom_fields_appear_on_the_form_and_detail(client_admin_a, org_a, crowd):
    with scopes_disabled():
        CustomField.objects.create(
            org=org_a,
            module="contacts",
            key="tier",
            label="Tier",
            field_type="picklist",
            choices=["Gold", "Silver"],
        )
        contact = Contact.objects.get(last_name="Abe")
    form = client_admin_a.get(page_url(org_a, f"contacts/{contact.pk}/edit/")).content.decode()
    assert "Tier" in form and '<option value="Gold">' in form
    data = {
        "last_name": "Abe",
        "first_name": "Aiko",
        "email": "aiko@x.jp",
        "tier": "Gold",
        "subscription": "paid",
        "country": "JP",
    }
    client_admin_a.post(page_url(org_a, f"contacts/{contact.pk}/edit/"), data)
    detail = client_admin_a.get(page_url(org_a, f"contacts/{contact.pk}/")).content.decode()
    assert "<dt>Tier</dt><dd>Gold</dd>" in detail
    assert "Tier: — → Gold" in detail


def test_rec2_delete_a_contact_after_confirmation(client_admin_a, org_a, crowd):
    with scopes_disabled():
        contact = Contact.objects.get(last_name="Blanc")
    url = page_url(org_a, f"contacts/{contact.pk}/delete/")
    assert "This cannot be undone." in client_admin_a.get(url).content.decode()
    with scopes_disabled():
        assert Contact.objects.filter(pk=contact.pk).exists(), "a GET deletes nothing"
    response = client_admin_a.post(url, follow=True)
    assert "Bruno Blanc was deleted." in response.content.decode()
    with scopes_disabled():
        assert not Contact.objects.filter(pk=contact.pk).exists()


def test_usr1_delete_needs_the_delete_permission(org_a, crowd):
    with scopes_disabled():
        profile = Profile.objects.create(
            org=org_a, name="Keeper", permissions=["contacts.create", "contacts.edit"]
        )
        keeper = CrmUserFactory(org=org_a, profile=profile)
        contact = ContactFactory(org=org_a, owner=keeper)
    client = client_for(keeper)
    detail = client.get(page_url(org_a, f"contacts/{contact.pk}/")).content.decode()
    assert "/delete/" not in detail
    assert client.post(page_url(org_a, f"contacts/{contact.pk}/delete/")).status_code == 403
    with scopes_disabled():
        assert Contact.objects.filter(pk=contact.pk).exists()


def test_usr2_account_list_follows_the_role(client_member_a, org_a, crowd, member_a):
    with scopes_disabled():
        Account.objects.create(org=org_a, name="Mine Ltd", owner=member_a)
    body = client_member_a.get(page_url(org_a, "accounts/")).content.decode()
    assert "Mine Ltd" in body and "Acme KK" not in body
    assert client_member_a.get(page_url(org_a, f"accounts/{crowd.pk}/")).status_code == 404


def test_rec3_bulk_update_from_the_list_writes_one_event_per_changed_contact(
    client_admin_a, org_a, crowd, admin_a, member_a
):
    with scopes_disabled():
        ids = list(Contact.objects.filter(owner=member_a).values_list("pk", flat=True))
        other = ContactFactory(org=org_a, owner=admin_a)
    response = client_admin_a.post(
        page_url(org_a, "contacts/bulk/"),
        {"contacts": [*ids, other.pk], "field": "owner", "owner": admin_a.pk, "query": "sort=name"},
        follow=True,
    )
    assert "2 contacts changed." in response.content.decode()
    assert response.redirect_chain[-1][0] == page_url(org_a, "contacts/?sort=name")
    with scopes_disabled():
        events = RecordEvent.objects.filter(kind="update", module="contacts")
        assert sorted(e.record_id for e in events) == sorted(ids)
        assert {tuple(e.changes["owner_id"]) for e in events} == {(member_a.pk, admin_a.pk)}


def test_rec3_bulk_update_needs_edit_and_ignores_unseen_contacts(
    client_member_a, org_a, crowd, admin_a, org_b
):
    with scopes_disabled():
        mine_not = Contact.objects.get(last_name="Abe")  # owned by the admin: not visible
        theirs = ContactFactory(org=org_b)
    response = client_member_a.post(
        page_url(org_a, "contacts/bulk/"),
        {
            "contacts": [mine_not.pk, theirs.pk],
            "field": "subscription",
            "subscription": "cancelled",
        },
        follow=True,
    )
    assert "Select contacts and what to change." in response.content.decode()
    with scopes_disabled():
        assert not RecordEvent.objects.filter(kind="update").exists()
    assert client_member_a.get(page_url(org_a, "contacts/bulk/")).status_code == 405
