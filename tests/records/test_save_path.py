"""The save path close to the floor (REC-1, REC-3, issue 10): a create runs its two INSERTs
and nothing else, because each process keeps the org's field registry, checked against the
org's `fields_version`, and takes an owner or account it is handed as it is. Every change of
the custom fields reaches the next save, in this process and in any other."""

import re
import subprocess
import sys
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from records import field_services
from records.models import Contact, CustomField, RecordEvent
from records.modules import field_specs
from records.services import record_create
from tests.workers import ROOT, process_env
from users.models import CrmUser, Organization

_TABLE = re.compile(r'\b(?:FROM|INTO)\s+"?(\w+)"?')


def create(org, actor, **data):
    with scope(org=org):
        return record_create(
            org=org, actor=actor, module="contacts", data={"last_name": "Mori", **data}
        )


def statements(captured) -> list[str]:
    """Each statement's verb and first table: "INSERT records_contact", "SAVEPOINT", …"""
    found = []
    for query in captured:
        verb, table = query["sql"].split(None, 1)[0], _TABLE.search(query["sql"])
        found.append(f"{verb} {table[1]}" if table else verb)
    return found


def registry_reads(captured) -> int:
    return sum("records_customfield" in query["sql"] for query in captured)


def add_field(org, actor, label="Plan", required=True, choices=("Basic", "Pro")):
    with scopes_disabled():
        return field_services.custom_field_create(
            org=org,
            actor=actor,
            module="contacts",
            label=label,
            field_type="picklist",
            choices=list(choices),
            required=required,
        )


# --- the statements of a create ---------------------------------------------------------------


def test_rec3_create_with_an_owner_instance_runs_its_two_inserts_only(
    org_a, admin_a, django_assert_num_queries
):
    create(org_a, admin_a)  # the first save of this process reads the org's fields
    with scope(org=org_a):
        account = record_create(org=org_a, actor=admin_a, module="accounts", data={"name": "A"})
    with django_assert_num_queries(4) as captured:
        contact = create(org_a, admin_a, owner=admin_a, account=account, email="Mori@Example.jp")
    # The savepoint is the service's transaction inside the test's own.
    assert statements(captured.captured_queries) == [
        "SAVEPOINT",
        "INSERT records_contact",
        "INSERT records_recordevent",
        "RELEASE",
    ]
    with scopes_disabled():
        stored = Contact.objects.get(pk=contact.pk)
        event = RecordEvent.objects.get(record_id=contact.pk, module="contacts")
    assert (stored.owner_id, stored.account_id, stored.email) == (
        admin_a.pk,
        account.pk,
        "mori@example.jp",
    )
    assert event.changes["owner_id"] == [None, admin_a.pk]


def test_rec3_an_owner_given_by_id_is_looked_up_in_the_org(org_a, admin_a, member_a):
    create(org_a, admin_a)
    with CaptureQueriesContext(connection) as captured:
        contact = create(org_a, admin_a, owner=str(member_a.pk))
    assert statements(captured.captured_queries) == [
        "SAVEPOINT",
        "SELECT users_crmuser",
        "INSERT records_contact",
        "INSERT records_recordevent",
        "RELEASE",
    ]
    assert contact.owner == member_a


@pytest.mark.parametrize("by", ["instance", "id"])
def test_rec3_another_orgs_owner_or_account_is_refused(org_a, admin_a, org_b, admin_b, by):
    with scope(org=org_b):
        account_b = record_create(org=org_b, actor=admin_b, module="accounts", data={"name": "B"})
    for name, value in (("owner", admin_b), ("account", account_b)):
        with pytest.raises(ValidationError) as refused:
            create(org_a, admin_a, **{name: value if by == "instance" else value.pk})
        assert list(refused.value.message_dict) == [name]
        assert "of this organisation" in refused.value.message_dict[name][0]
    with scopes_disabled():
        assert not Contact.objects.filter(org=org_a).exists()
        assert not RecordEvent.objects.filter(org=org_a, module="contacts").exists()


def test_rec3_an_unsaved_owner_is_refused(org_a, admin_a):
    with pytest.raises(ValidationError) as refused:
        create(org_a, admin_a, owner=CrmUser(org=org_a, email="new@example.com"))
    assert list(refused.value.message_dict) == ["owner"]


# --- the field registry follows every change ----------------------------------------------------


def test_rec1_the_registry_is_read_once_per_process_and_org(org_a, admin_a, org_b, admin_b):
    with CaptureQueriesContext(connection) as first:
        create(org_a, admin_a)
    with CaptureQueriesContext(connection) as second:
        create(org_a, admin_a)
        create(org_b, admin_b)
    assert registry_reads(first.captured_queries) == 1
    assert registry_reads(second.captured_queries) == 1, "org B's fields are its own"


def test_rec1_a_required_field_added_is_enforced_on_the_next_save(
    org_a, admin_a, django_capture_on_commit_callbacks
):
    create(org_a, admin_a)
    with django_capture_on_commit_callbacks(execute=True):  # as the field page commits
        add_field(org_a, admin_a)
    with CaptureQueriesContext(connection) as after, pytest.raises(ValidationError) as refused:
        create(org_a, admin_a)
    assert refused.value.message_dict == {"plan": ["Plan is required."]}
    assert registry_reads(after.captured_queries) == 1
    with CaptureQueriesContext(connection) as again:
        assert create(org_a, admin_a, plan="Pro").custom == {"plan": "Pro"}
    assert registry_reads(again.captured_queries) == 0, "read once after the change"


def test_rec1_a_required_field_is_enforced_within_the_transaction_that_adds_it(org_a, admin_a):
    create(org_a, admin_a)
    add_field(org_a, admin_a)  # not committed: the test's transaction is still open
    with pytest.raises(ValidationError) as refused:
        create(org_a, admin_a)
    assert refused.value.message_dict == {"plan": ["Plan is required."]}


def test_rec1_a_field_change_rolled_back_leaves_no_trace_in_the_registry(org_a, admin_a):
    create(org_a, admin_a)
    with pytest.raises(RuntimeError), transaction.atomic():
        add_field(org_a, admin_a)
        create(org_a, admin_a, plan="Pro")  # this process reads the uncommitted field
        raise RuntimeError("the admin's request fails after all")
    assert create(org_a, admin_a).custom == {}, "no required Plan: it was never committed"
    with pytest.raises(ValidationError) as refused:
        create(org_a, admin_a, plan="Pro")
    assert refused.value.message_dict == {"plan": ["There is no field plan."]}


def test_rec1_a_field_changed_is_enforced_on_the_next_save(
    org_a, admin_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        plan = add_field(org_a, admin_a, required=False)
    create(org_a, admin_a, plan="Basic")
    with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
        field_services.custom_field_update(
            org=org_a,
            actor=admin_a,
            field=plan,
            label="Plan",
            choices=["Basic", "Max"],
            required=True,
        )
    with pytest.raises(ValidationError) as refused:
        create(org_a, admin_a)
    assert refused.value.message_dict == {"plan": ["Plan is required."]}
    with pytest.raises(ValidationError) as refused:
        create(org_a, admin_a, plan="Pro")
    assert refused.value.message_dict == {"plan": ["“Pro” is not one of the choices of Plan."]}
    assert create(org_a, admin_a, plan="Max").custom == {"plan": "Max"}


def test_rec1_a_field_deleted_is_gone_on_the_next_save(
    org_a, admin_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        plan = add_field(org_a, admin_a)
    create(org_a, admin_a, plan="Pro")
    with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
        field_services.custom_field_delete(org=org_a, actor=admin_a, field=plan)
    with pytest.raises(ValidationError) as refused:
        create(org_a, admin_a, plan="Pro")
    assert refused.value.message_dict == {"plan": ["There is no field plan."]}
    assert create(org_a, admin_a).custom == {}


def test_rec1_a_new_order_reaches_the_registry(org_a, admin_a):
    add_field(org_a, admin_a, label="Plan", required=False)
    add_field(org_a, admin_a, label="Tier", required=False)
    with scope(org=org_a):
        assert [s.key for s in field_specs(org_a, "contacts")][-2:] == ["plan", "tier"]
        keys = [s.key for s in field_specs(org_a, "contacts")]
        field_services.field_layout_save(
            org=org_a, actor=admin_a, module="contacts", order=["tier", *keys[:-1]]
        )
        assert [s.key for s in field_specs(org_a, "contacts")][-2:] == ["tier", "plan"]


def test_rec1_another_process_change_is_detected_by_the_org_stamp(org_a, admin_a):
    """What another process's field service leaves in the database — a new field and a new
    stamp — while this process's registry still holds the old fields: the next request loads
    the org, sees another stamp and reads the fields again."""
    create(org_a, admin_a)
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
    Organization.objects.filter(pk=org_a.pk).update(fields_version=uuid.uuid4())
    org = Organization.objects.get(pk=org_a.pk)  # as the next request loads it
    with pytest.raises(ValidationError) as refused:
        create(org, admin_a)
    assert refused.value.message_dict == {"plan": ["Plan is required."]}


CHANGE_IN_ANOTHER_PROCESS = """
from django_scopes import scopes_disabled
from records.field_services import custom_field_create
from users.models import CrmUser, Organization
with scopes_disabled():
    custom_field_create(
        org=Organization.objects.get(pk={org}),
        actor=CrmUser.objects.get(pk={actor}),
        module="contacts",
        label="Plan",
        field_type="picklist",
        choices=["Basic", "Pro"],
        required=True,
    )
"""


@pytest.mark.django_db(transaction=True)
def test_rec1_a_field_added_by_another_process_is_enforced_here(org_a, admin_a):
    create(org_a, admin_a)
    with CaptureQueriesContext(connection) as warm:
        create(org_a, admin_a)
    assert registry_reads(warm.captured_queries) == 0, "this process holds the fields"
    code = CHANGE_IN_ANOTHER_PROCESS.format(org=org_a.pk, actor=admin_a.pk)
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    org = Organization.objects.get(pk=org_a.pk)  # as the next request loads it
    with pytest.raises(ValidationError) as refused:
        create(org, admin_a)
    assert refused.value.message_dict == {"plan": ["Plan is required."]}
    assert create(org, admin_a, plan="Basic").custom == {"plan": "Basic"}
