"""Records as data (REC-1, REC-3): standard and custom fields validated the same way,
accounts, bulk updates with one event per record, deletion by permission."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_scopes import scope, scopes_disabled

from records.models import Account, Contact, CustomField, RecordEvent
from records.modules import field_specs
from records.services import record_create, record_delete, record_update, records_bulk_update
from tests.users.factories import CrmUserFactory
from users.models import Profile


@pytest.fixture
def custom_fields(org_a):
    with scopes_disabled():
        CustomField.objects.create(
            org=org_a,
            module="contacts",
            key="plan",
            label="Plan",
            field_type="picklist",
            choices=["Basic", "Pro"],
            required=True,
        )
        CustomField.objects.create(
            org=org_a,
            module="contacts",
            key="seats",
            label="Seats",
            field_type="number",
            position=2,
        )
        CustomField.objects.create(
            org=org_a,
            module="contacts",
            key="renews",
            label="Renews",
            field_type="date",
            position=3,
        )


def events(org, **filters):
    with scopes_disabled():
        return list(RecordEvent.objects.filter(org=org, **filters).order_by("pk"))


def test_rec1_field_specs_list_standard_then_custom_fields(org_a, custom_fields):
    with scope(org=org_a):
        keys = [spec.key for spec in field_specs(org_a, "contacts")]
    assert keys[:2] == ["first_name", "last_name"] and keys[-3:] == ["plan", "seats", "renews"]


def test_rec1_custom_values_are_validated_and_tracked_in_events(org_a, admin_a, custom_fields):
    with scope(org=org_a):
        contact = record_create(
            org=org_a,
            actor=admin_a,
            module="contacts",
            data={"last_name": "Mori", "plan": "Pro", "seats": "12", "renews": "2027/01/31"},
        )
        record_update(record=contact, actor=admin_a, data={"seats": 15})
    contact.refresh_from_db()
    assert contact.custom == {"plan": "Pro", "seats": 15, "renews": "2027-01-31"}
    create, update = events(org_a)
    assert create.changes["plan"] == [None, "Pro"]
    assert update.changes == {"seats": [12, 15]}


def test_rec1_every_bad_value_is_reported_by_field_and_nothing_is_written(
    org_a, admin_a, custom_fields
):
    with scope(org=org_a), pytest.raises(ValidationError) as refused:
        record_create(
            org=org_a,
            actor=admin_a,
            module="contacts",
            data={
                "last_name": "",
                "email": "yuki@",
                "plan": "Gold",
                "seats": "many",
                "renews": "soon",
                "favourite_colour": "blue",
            },
        )
    assert set(refused.value.message_dict) == {
        "last_name",
        "email",
        "plan",
        "seats",
        "renews",
        "favourite_colour",
    }
    assert refused.value.message_dict["plan"] == ["“Gold” is not one of the choices of Plan."]
    with scopes_disabled():
        assert not Contact.objects.exists()
    assert events(org_a) == []


def test_rec1_required_custom_field_is_required_on_create(org_a, admin_a, custom_fields):
    with scope(org=org_a), pytest.raises(ValidationError) as refused:
        record_create(org=org_a, actor=admin_a, module="contacts", data={"last_name": "Mori"})
    assert refused.value.message_dict == {"plan": ["Plan is required."]}


def test_rec1_accounts_and_the_contacts_account(org_a, admin_a, org_b, admin_b):
    with scope(org=org_a):
        acme = record_create(
            org=org_a,
            actor=admin_a,
            module="accounts",
            data={"name": "Acme KK", "phone": "+81 3-1111-2222"},
        )
        contact = record_create(
            org=org_a,
            actor=admin_a,
            module="contacts",
            data={"last_name": "Mori", "account": acme.pk},
        )
    assert contact.account == acme
    assert [e.module for e in events(org_a)] == ["accounts", "contacts"]
    with scope(org=org_b):
        other = record_create(org=org_b, actor=admin_b, module="accounts", data={"name": "B"})
    with scope(org=org_a), pytest.raises(ValidationError) as refused:
        record_update(record=contact, actor=admin_a, data={"account": other.pk})
    assert "account" in refused.value.message_dict


def test_rec3_bulk_update_writes_one_event_per_changed_record(org_a, admin_a):
    with scope(org=org_a):
        contacts = [
            record_create(
                org=org_a,
                actor=admin_a,
                module="contacts",
                data={"last_name": f"C{i}", "country": "JP" if i else "FR"},
            )
            for i in range(3)
        ]
        changed = records_bulk_update(
            org=org_a, actor=admin_a, module="contacts", records=contacts, data={"country": "FR"}
        )
    assert changed == 2
    updates = events(org_a, kind="update")
    assert sorted(e.record_id for e in updates) == sorted(c.pk for c in contacts[1:])
    assert {tuple(e.changes["country"]) for e in updates} == {("JP", "FR")}


def test_usr1_delete_needs_the_profiles_delete_permission(org_a, admin_a):
    with scopes_disabled():
        profile = Profile.objects.create(
            org=org_a, name="No delete", permissions=["contacts.create", "contacts.edit"]
        )
        clerk = CrmUserFactory(org=org_a, profile=profile)
    with scope(org=org_a):
        contact = record_create(
            org=org_a, actor=clerk, module="contacts", data={"last_name": "Mori"}
        )
        with pytest.raises(PermissionDenied):
            record_delete(record=contact, actor=clerk)
        record_delete(record=contact, actor=admin_a)
    with scopes_disabled():
        assert not Contact.objects.filter(pk=contact.pk).exists()
        assert Account.objects.count() == 0
