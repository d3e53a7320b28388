"""The Campaigns team's rules and pages (CAM-1, CAM-2, CAM-3, CAM-6; issue 15 point 10):
roles, self-protection, the last admin, the members page and the CRM user's page."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from campaigns_users.models import CampaignMember, CampaignRole
from campaigns_users.services import (
    campaign_role_create,
    campaign_role_delete,
    campaign_roles_ensure,
    member_change_role,
    member_deactivate,
    member_leave,
    member_reactivate,
    member_remove,
)
from crm_portal.exceptions import ActionRefused
from tests.users.factories import CrmUserFactory, UserFactory
from users.models import AuditLogEntry

from .conftest import fresh, team_snapshot

S = CampaignMember.Status


@pytest.fixture
def joined(invite, org_a):
    """kenji@example.jp, a CRM user of org A, accepted a Campaigns invitation: Active."""

    def make(email="kenji@example.jp", **kwargs):
        member, link = invite(email, **kwargs)
        with scopes_disabled():
            crm = CrmUserFactory(org=org_a, user=UserFactory(email=email))
        client = Client()
        client.force_login(crm.user)
        client.post(f"{link}accept/")
        client.get(reverse("campaigns_home", kwargs={"org_slug": org_a.slug}))
        assert fresh(member).status == S.ACTIVE
        return fresh(member), client, crm

    return make


def url(org, name, **kwargs):
    return reverse(name, kwargs={"org_slug": org.slug, **kwargs})


def test_cam1_built_in_roles_and_a_custom_role(org_a, team_admin):
    with scope(org=org_a):
        roles = campaign_roles_ensure(org=org_a)
        custom = campaign_role_create(
            org=org_a, actor=team_admin, name="Reporter", allowed=["view_reports"]
        )
        assert not custom.is_admin and custom.allows("view_reports")
        assert not custom.allows("send_campaigns")
        assert roles[CampaignRole.STANDARD_ADMIN].is_admin
        assert not roles[CampaignRole.STANDARD_USER].is_admin
        with pytest.raises(ActionRefused, match="already exists"):
            campaign_role_create(org=org_a, actor=team_admin, name="reporter", allowed=[])
        with pytest.raises(ActionRefused, match="Built-in roles"):
            campaign_role_delete(
                org=org_a, actor=team_admin, role=roles[CampaignRole.STANDARD_USER]
            )
        campaign_role_delete(org=org_a, actor=team_admin, role=custom)


def test_cam1_the_team_keeps_one_admin_demoting_the_last_is_refused(org_a, team_admin, joined):
    member, _client, _crm = joined()
    with scope(org=org_a):
        user_role = campaign_roles_ensure(org=org_a)[CampaignRole.STANDARD_USER]
        admin_role = campaign_roles_ensure(org=org_a)[CampaignRole.STANDARD_ADMIN]
        before = team_snapshot(org_a)
        with pytest.raises(ActionRefused, match="only admin"):
            member_change_role(org=org_a, actor=team_admin, member=team_admin, role=user_role)
        assert team_snapshot(org_a) == before
        member_change_role(org=org_a, actor=team_admin, member=member, role=admin_role)
        member_change_role(org=org_a, actor=team_admin, member=team_admin, role=user_role)
    assert fresh(team_admin).role == user_role


def test_cam6_self_deactivation_and_self_removal_are_refused(org_a, team_admin):
    before = team_snapshot(org_a)
    with scope(org=org_a):
        for service in (member_deactivate, member_remove):
            with pytest.raises(ActionRefused, match="yourself"):
                service(org=org_a, actor=team_admin, member=team_admin)
    assert team_snapshot(org_a) == before


def test_cam6_deactivate_reactivate_remove(org_a, team_admin, joined):
    member, client, _crm = joined()
    with scope(org=org_a):
        member_deactivate(org=org_a, actor=team_admin, member=member)
    assert client.get(url(org_a, "campaigns_home")).status_code == 403
    with scope(org=org_a):
        member_reactivate(org=org_a, actor=team_admin, member=fresh(member))
    assert client.get(url(org_a, "campaigns_home")).status_code == 200
    with scope(org=org_a):
        member_remove(org=org_a, actor=team_admin, member=fresh(member))
    assert fresh(member).status == S.REMOVED
    assert client.get(url(org_a, "campaigns_home")).status_code == 403


def test_cam6_a_standard_user_cannot_deactivate(org_a, team_admin, joined):
    member, _client, _crm = joined()
    with scope(org=org_a), pytest.raises(PermissionDenied):
        member_deactivate(org=org_a, actor=member, member=team_admin)


def test_cam6_a_member_leaves_but_not_the_last_admin(org_a, team_admin, joined):
    member, client, _crm = joined()
    response = client.post(url(org_a, "campaigns_leave"))
    assert response.status_code == 302
    assert fresh(member).status == S.REMOVED
    before = team_snapshot(org_a)
    with scope(org=org_a), pytest.raises(ActionRefused, match="only admin"):
        member_leave(member=team_admin)
    assert team_snapshot(org_a) == before


def test_cam2_cam3_members_page_shows_used_limit_counts_and_filters(
    org_a, team_admin, invite, client_admin_a
):
    invite("a@example.com")
    invite("b@example.com")
    page = client_admin_a.get(url(org_a, "campaigns_members")).content.decode()
    assert "3 of 5 members" in page
    assert 'data-status="invited">Invited <span class="count">2</span>' in page
    filtered = client_admin_a.get(url(org_a, "campaigns_members") + "?status=active")
    assert "a@example.com" not in filtered.content.decode()
    assert team_admin.email in filtered.content.decode()
    assert client_admin_a.get(url(org_a, "campaigns_members") + "?status=bogus").status_code in (
        200,
        400,
    )


def test_cam2_members_page_pins_its_query_count(
    org_a, team_admin, client_admin_a, django_assert_num_queries, settings
):
    """The members page reads the same number of statements for 3 members as for 30."""
    settings.CAMPAIGNS_TEAM_LIMITS = {"free": 100}
    with scope(org=org_a):
        roles = campaign_roles_ensure(org=org_a)

    def add(n):
        with scopes_disabled():
            for i in range(n):
                CampaignMember.objects.create(
                    org=org_a,
                    email=f"m{CampaignMember.objects.count()}-{i}@example.com",
                    role=roles[CampaignRole.STANDARD_USER],
                )

    add(2)
    page = url(org_a, "campaigns_members")
    client_admin_a.get(page)
    with CaptureQueriesContext(connection) as few:
        client_admin_a.get(page)
    add(27)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client_admin_a.get(page)
    assert response.content.decode().count("data-member=") == 30


def test_cam2_a_refused_invitation_is_explained_in_japanese(
    org_a, admin_a, team_admin, client_admin_a, settings
):
    """Bad input: a clear error in the user's language, nothing written, never a 500."""
    settings.CAMPAIGNS_TEAM_LIMITS = {"free": 1}
    with scopes_disabled():
        admin_a.user.language = "ja"
        admin_a.user.save()
    before = team_snapshot(org_a)
    invite_url = url(org_a, "campaigns_member_invite")
    response = client_admin_a.post(
        invite_url, {"email": "kenji@example.jp", "language": "ja", "role": team_admin.role_id}
    )
    assert response.status_code == 200
    assert "Campaigns チームのメンバーはすでに 1 人中 1 人です。" in response.content.decode()
    response = client_admin_a.post(invite_url, {"email": "not-an-address", "language": "xx"})
    assert response.status_code == 200
    assert "有効なメールアドレスを入力してください。" in response.content.decode()
    assert team_snapshot(org_a) == before


def test_cam_point10_crm_user_page_shows_campaigns_role(org_a, joined, client_admin_a):
    member, _client, crm = joined()
    page = client_admin_a.get(url(org_a, "user_detail", user_pk=crm.pk)).content.decode()
    assert 'id="campaigns-membership"' in page
    assert "Standard User" in page and "Active" in page


def test_cam_point10_every_team_action_is_audited(org_a, team_admin, joined):
    member, _client, _crm = joined()
    with scope(org=org_a):
        member_deactivate(org=org_a, actor=team_admin, member=member)
    with scopes_disabled():
        entries = AuditLogEntry.objects.filter(org=org_a, action__startswith="campaigns.")
        actions = set(entries.values_list("action", flat=True))
        deactivated = entries.get(action="campaigns.member_deactivated")
    assert {
        "campaigns.team_started",
        "campaigns.member_invited",
        "campaigns.member_accepted",
        "campaigns.member_activated",
        "campaigns.member_deactivated",
    } <= actions
    assert deactivated.actor.user_id == team_admin.user_id
    assert deactivated.details["email"] == "kenji@example.jp"
