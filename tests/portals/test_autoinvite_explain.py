"""Why (not) invited (AUT-10): the verdict and the trace for a contact and each portal with
auto-invite — on the contact's page and from auto_invite_explain."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from portals.explain import auto_invite_explain
from portals.models import AutoInviteRule, PortalUser
from records.outbox import record_events_process
from records.services import contact_create
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.portals.test_autoinvite import ANYONE, JAPAN, PAID, contact_data, pending_ids


def rule_for(portal):
    with scopes_disabled():
        return AutoInviteRule.objects.create(
            org=portal.org,
            portal=portal,
            group=UserGroupFactory(portal=portal),
            is_enabled=True,
            enabled_at=timezone.now() - timedelta(minutes=1),
            common_conditions=PAID,
            languages=[
                {"language": "ja", "conditions": JAPAN},
                {"language": "en", "conditions": ANYONE},
            ],
        )


@pytest.fixture
def portal(org_a):
    with scopes_disabled():
        return PortalFactory(org=org_a, name="Help centre", slug="help", languages=["en", "ja"])


def explain(org, contact, portal):
    with scope(org=org):
        return auto_invite_explain(contact=contact, portal=portal)


def test_aut10_not_matched_shows_each_condition_with_the_contacts_value(org_a, admin_a, portal):
    rule_for(portal)
    with scope(org=org_a):
        contact = contact_create(org=org_a, actor=admin_a, data=contact_data(subscription="free"))
    explained = explain(org_a, contact, portal)
    assert explained.verdict == "not_matched" and explained.language is None
    [row] = explained.trace["common"]["rows"]
    assert row["result"] is False and row["field"] == "subscription"
    assert explained.trace["languages"] == [], "languages are not tried when common fails"


def test_aut10_invitable_then_member_with_the_language_chosen(org_a, admin_a, portal):
    rule_for(portal)
    with scope(org=org_a):
        contact = contact_create(org=org_a, actor=admin_a, data=contact_data(country="FR"))
    explained = explain(org_a, contact, portal)
    assert (explained.verdict, explained.language) == ("invitable", "en")
    assert [lang["result"] for lang in explained.trace["languages"]] == [False, True]
    with scope(org=org_a):
        record_events_process(event_ids=pending_ids(org_a))
    explained = explain(org_a, contact, portal)
    assert explained.verdict == "member"
    assert explained.portal_user.status == PortalUser.Status.INVITED


def test_aut10_blocked_names_the_reason_and_a_turned_off_rule_its_reason(org_a, admin_a, portal):
    rule = rule_for(portal)
    with scope(org=org_a):
        contact = contact_create(org=org_a, actor=admin_a, data=contact_data(email=""))
    explained = explain(org_a, contact, portal)
    assert explained.verdict == "blocked" and "no email address" in explained.sentence
    with scopes_disabled():
        AutoInviteRule.objects.filter(pk=rule.pk).update(
            is_enabled=False, invalid_reason="A field was deleted."
        )
    explained = explain(org_a, contact, portal)
    assert (explained.verdict, explained.sentence) == ("rule_off", "A field was deleted.")


def test_aut10_no_settings_no_explanation(org_a, admin_a, portal):
    with scope(org=org_a):
        contact = contact_create(org=org_a, actor=admin_a, data=contact_data())
    assert explain(org_a, contact, portal) is None


def page(client, org, contact) -> str:
    return client.get(f"/o/{org.slug}/contacts/{contact.pk}/").content.decode()


def test_aut10_the_contact_page_shows_the_panel_to_who_manages_portal_users(
    org_a, admin_a, portal, client_admin_a, client_member_a
):
    rule_for(portal)
    with scope(org=org_a):
        contact = contact_create(org=org_a, actor=admin_a, data=contact_data())
        record_events_process(event_ids=pending_ids(org_a))
    body = page(client_admin_a, org_a, contact)
    assert 'id="auto-invite-explain"' in body and 'data-verdict="member"' in body
    assert "Help centre" in body and "Language chosen: ja." in body
    assert "Invited automatically on" in body
    assert 'id="auto-invite-explain"' not in page(client_member_a, org_a, contact)


def test_aut10_the_contact_page_makes_the_same_queries_for_one_portal_or_three(
    org_a, admin_a, portal, client_admin_a, django_assert_max_num_queries
):
    rule_for(portal)
    with scope(org=org_a):
        contact = contact_create(org=org_a, actor=admin_a, data=contact_data())
        record_events_process(event_ids=pending_ids(org_a))
    page(client_admin_a, org_a, contact)  # warm the field registry
    with django_assert_max_num_queries(100) as one:
        page(client_admin_a, org_a, contact)
    with scopes_disabled():
        for n in range(2):
            rule_for(PortalFactory(org=org_a, slug=f"more-{n}", languages=["en", "ja"]))
    with scope(org=org_a):
        contact_create(org=org_a, actor=admin_a, data=contact_data(5))
        record_events_process(event_ids=pending_ids(org_a))
    with django_assert_max_num_queries(len(one.captured_queries)):
        body = page(client_admin_a, org_a, contact)
    assert body.count('class="auto-invite-portal"') == 3
