"""django-scopes as the safety net (DESIGN: Tenancy): a tenant query that forgets its org
raises instead of leaking, in code, in Celery tasks and in management commands."""

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled
from django_scopes.exceptions import ScopeError

from records.models import Contact, RecordEvent
from records.services import contact_create
from records.tasks import process_record_events_task
from tests.records.factories import ContactFactory
from users.models import CrmUser, Organization


def test_tenant_query_outside_a_scope_raises(org_a):
    with pytest.raises(ScopeError):
        list(Contact.objects.all())
    with pytest.raises(ScopeError):
        CrmUser.objects.count()


def test_scope_shows_only_that_orgs_rows(org_a, org_b):
    with scopes_disabled():
        mine, theirs = ContactFactory(org=org_a), ContactFactory(org=org_b)
    with scope(org=org_a):
        assert list(Contact.objects.all()) == [mine]
        assert not Contact.objects.filter(pk=theirs.pk).exists()


def test_task_runs_in_the_scope_of_the_org_it_is_given(org_a, org_b, admin_a):
    """A task handed org B's id cannot touch org A's event, even by its id."""
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data={"last_name": "Ito"})
    with scopes_disabled():
        event = RecordEvent.objects.get(org=org_a)
    assert process_record_events_task.apply(args=(org_b.pk, [event.pk])).get() == 0
    event.refresh_from_db()
    assert event.processed_at is None
    assert process_record_events_task.apply(args=(org_a.pk, [event.pk])).get() == 1


def test_seed_demo_command_creates_acme_once(db, capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    with scopes_disabled():
        acme = Organization.objects.get(slug="acme")
        assert acme.is_verified
        assert Contact.objects.filter(org=acme).count() == 5
        assert RecordEvent.objects.filter(org=acme, kind="create").count() == 5
        assert CrmUser.objects.get(org=acme, email="admin@acme.example").is_super_admin
        assert CrmUser.objects.get(org=acme, email="nora@acme.example").status == "unconfirmed"
    assert "already exists" in capsys.readouterr().out
