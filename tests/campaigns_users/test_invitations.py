"""Campaigns members' invitations (CAM-2, CAM-3, CAM-4, CAM-5, CAM-6, CAM-9): the
"campaigns_member" kind of the one invitation core — accept, decline, caps, re-target."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from campaigns_users.models import CampaignMember, CampaignRole
from campaigns_users.services import (
    campaign_roles_ensure,
    member_invite,
    member_remove,
    member_resend,
    member_retarget,
    members_expire,
    team_start,
)
from crm_portal.exceptions import ActionRefused
from invitations.models import Invitation
from tests.users.factories import CrmUserFactory, UserFactory
from users.models import AuditLogEntry

from .conftest import fresh, signed_in, team_snapshot

S = CampaignMember.Status


def decline(link) -> int:
    client = Client()
    assert client.get(f"{link}decline/").status_code == 200
    return client.post(f"{link}decline/").status_code


def accept(link, email="kenji@example.jp") -> Client:
    client = signed_in(email)
    response = client.post(f"{link}accept/")
    assert response.status_code == 302, response
    return client


def test_cam2_a_new_member_is_standard_user_and_invited(invite, org_a):
    member, link = invite()
    member = fresh(member)
    assert member.status == S.INVITED
    assert member.role.builtin == CampaignRole.STANDARD_USER
    assert member.send_count == 1
    with scopes_disabled():
        assert member.invitation.kind == "campaigns_member"


def test_cam2_the_admin_may_pick_another_role(invite, org_a):
    with scope(org=org_a):
        admin_role = campaign_roles_ensure(org=org_a)[CampaignRole.STANDARD_ADMIN]
    member, _link = invite(role=admin_role)
    assert fresh(member).role == admin_role


def test_cam2_a_sixth_member_is_refused_and_nothing_changes(invite, org_a, team_admin):
    for n in range(4):  # with the admin, five
        invite(f"p{n}@example.com")
    before = team_snapshot(org_a)
    with scope(org=org_a), pytest.raises(ActionRefused, match="already has 5 of 5 members"):
        member_invite(org=org_a, actor=team_admin, email="sixth@example.com")
    assert team_snapshot(org_a) == before


def test_cam2_the_limit_is_a_plan_setting(invite, org_a, team_admin, settings):
    settings.CAMPAIGNS_TEAM_LIMITS = {"free": 2}
    invite("second@example.com")
    with scope(org=org_a), pytest.raises(ActionRefused, match="2 of 2"):
        member_invite(org=org_a, actor=team_admin, email="third@example.com")


def test_cam2_only_admins_invite(invite, org_a):
    member, link = invite()
    accept(link)
    with scope(org=org_a), pytest.raises(PermissionDenied):
        member_invite(org=org_a, actor=fresh(member), email="other@example.com")


def test_cam3_accepting_makes_associated_and_the_first_visit_active(invite, org_a):
    member, link = invite()
    with scopes_disabled():
        crm = CrmUserFactory(org=org_a, user=UserFactory(email="kenji@example.jp"))
    client = Client()
    client.force_login(crm.user)
    response = client.post(f"{link}accept/")
    assert response["Location"] == "/"
    assert fresh(member).status == S.ASSOCIATED
    client.get(f"/o/{org_a.slug}/")  # the CRM is not the Campaigns area
    assert fresh(member).status == S.ASSOCIATED
    assert client.get(f"/o/{org_a.slug}/campaigns/").status_code == 200
    assert fresh(member).status == S.ACTIVE
    with scopes_disabled():
        actions = list(AuditLogEntry.objects.filter(org=org_a).values_list("action", flat=True))
    assert {"campaigns.member_accepted", "campaigns.member_activated"} <= set(actions)


def test_cam3_a_member_who_is_no_crm_user_opens_the_campaigns_area_and_nothing_else(invite, org_a):
    """Campaigns is a second product on the same accounts: a person invited only to the team
    accepts, opens the Campaigns area (and becomes Active), but the CRM stays closed (404),
    and so does the area once they are removed."""
    member, link = invite()
    client = accept(link)  # an account with no CRM membership anywhere
    assert fresh(member).status == S.ASSOCIATED

    response = client.get(f"/o/{org_a.slug}/campaigns/")

    assert response.status_code == 200
    assert fresh(member).status == S.ACTIVE
    assert client.get(f"/o/{org_a.slug}/").status_code == 404
    assert client.get(f"/o/{org_a.slug}/contacts/").status_code == 404
    assert client.get(f"/o/{org_a.slug}/campaigns/team/").status_code == 403  # not an admin
    with scope(org=org_a):
        admin = CampaignMember.objects.get(org=org_a, role__builtin=CampaignRole.STANDARD_ADMIN)
        member_remove(org=org_a, member=fresh(member), actor=admin)
    assert client.get(f"/o/{org_a.slug}/campaigns/").status_code == 404


def test_cam3_the_expire_task_expires_invitations_past_validity(invite, org_a):
    member, link = invite()
    other, _ = invite("fresh@example.com")
    with scopes_disabled():
        Invitation.objects.filter(pk=fresh(member).invitation_id).update(
            expires_at=timezone.now() - timezone.timedelta(minutes=1)
        )
    assert members_expire() == 1
    assert fresh(member).status == S.EXPIRED
    assert fresh(other).status == S.INVITED
    assert members_expire() == 0


def test_cam4_decline_then_reinvite_then_decline_blocks_the_address(invite, org_a, team_admin):
    member, link = invite()
    assert decline(link) == 200
    assert fresh(member).status == S.DECLINED
    assert Client().get(link).status_code == 404, "the declined link is dead"
    _member, link = invite()
    assert decline(link) == 200
    assert fresh(member).decline_count == 2
    before = team_snapshot(org_a)
    with scope(org=org_a), pytest.raises(ActionRefused, match="declined our invitation twice"):
        member_invite(org=org_a, actor=team_admin, email="KENJI@example.jp")
    assert team_snapshot(org_a) == before


def test_cam4_a_third_send_is_refused(invite, org_a, team_admin, capture):
    member, _link = invite()
    with scope(org=org_a), capture(execute=True):
        member_resend(org=org_a, actor=team_admin, member=member)
    assert fresh(member).send_count == 2
    before = team_snapshot(org_a)
    with scope(org=org_a), pytest.raises(ActionRefused, match="already sent twice"):
        member_resend(org=org_a, actor=team_admin, member=fresh(member))
    assert team_snapshot(org_a) == before


def test_cam4_two_unanswered_invitations_block_the_address(invite, org_a, team_admin):
    past = timezone.now() - timezone.timedelta(minutes=1)
    for _round in range(2):
        member, _link = invite()
        with scopes_disabled():
            Invitation.objects.filter(pk=fresh(member).invitation_id).update(expires_at=past)
        members_expire()
    with scope(org=org_a), pytest.raises(ActionRefused, match="already sent twice"):
        member_invite(org=org_a, actor=team_admin, email="kenji@example.jp")


def test_cam4_the_operator_command_lifts_the_block_and_is_audited(invite, org_a):
    member, link = invite()
    decline(link)
    _member, link = invite()
    decline(link)
    call_command("campaigns_unblock_address", "kenji@example.jp", "--operator", "ops-anna")
    member, _link = invite()  # allowed again
    assert fresh(member).status == S.INVITED
    with scopes_disabled():
        entry = AuditLogEntry.objects.get(org=org_a, action="campaigns.address_unblocked")
    assert entry.details["operator"] == "ops-anna"
    with pytest.raises(CommandError, match="not blocked"):
        call_command("campaigns_unblock_address", "nobody@example.com")


def test_cam4_a_forged_decline_link_looks_like_a_dead_link(invite, client):
    member, link = invite()
    dead = client.get("/invite/forged-token/")
    forged_get = client.get("/invite/forged-token/decline/")
    forged_post = client.post("/invite/forged-token/decline/")
    assert dead.status_code == forged_get.status_code == forged_post.status_code == 404
    heading = dead.content.split(b"<h1", 1)[1].split(b"</h1>", 1)[0]
    assert heading in forged_get.content and heading in forged_post.content
    assert fresh(member).status == S.INVITED


def test_cam4_a_crm_user_invitation_cannot_be_declined(org_a, admin_a, client, capture):
    """Declining is an option of the Campaigns kind, not of every kind: a CRM user's link
    gets the invalid-link page on /decline/ and stays open."""
    from tests.invitations.test_kinds import invite_kenji

    membership, link = invite_kenji(org_a, admin_a, capture)
    assert client.get(f"{link}decline/").status_code == 404
    assert client.post(f"{link}decline/").status_code == 404
    assert client.get(link).status_code == 200


def test_cam5_acceptance_is_refused_while_in_another_orgs_team(
    invite, org_a, org_b, admin_b, capture
):
    with scope(org=org_b):
        admin_team_b = team_start(org=org_b, crm_user=admin_b)
    member_b, link_b = invite(org=org_b, actor=admin_team_b)
    client = accept(link_b)
    member_a, link_a = invite()
    page = client.get(link_a)
    assert b"one Campaigns team at a time" in page.content
    assert org_b.name.encode() in page.content
    client.post(f"{link_a}accept/")
    assert fresh(member_a).status == S.INVITED
    with scope(org=org_b):
        member_remove(org=org_b, actor=admin_team_b, member=fresh(member_b))
    client.post(f"{link_a}accept/")
    assert fresh(member_a).status == S.ASSOCIATED


def test_cam6_a_removed_members_link_is_refused(invite, org_a, team_admin):
    member, link = invite()
    with scope(org=org_a):
        member_remove(org=org_a, actor=team_admin, member=member)
    client = signed_in("kenji@example.jp")
    assert client.post(f"{link}accept/").status_code == 404
    assert fresh(member).status == S.REMOVED


def test_cam9_retarget_kills_the_old_link_at_once(invite, org_a, team_admin, capture):
    member, old_link = invite()
    mail.outbox.clear()
    with scope(org=org_a), capture(execute=True):
        member_retarget(org=org_a, actor=team_admin, member=member, email="ken@example.org")
    [message] = mail.outbox
    assert message.to == ["ken@example.org"]
    assert Client().get(old_link).status_code == 404
    assert signed_in("kenji@example.jp").post(f"{old_link}accept/").status_code == 404
    from .conftest import LINK

    new_link = LINK.search(message.body).group(1)
    accept(new_link, "ken@example.org")
    assert fresh(member).status == S.ASSOCIATED
    assert fresh(member).email == "ken@example.org"


def history(org, email):
    from campaigns_users.models import CampaignAddress

    with scopes_disabled():
        row = CampaignAddress.objects.filter(org=org, email=email).first()
    return (row.sends, row.declines) if row else None


def test_cam4_retargeting_back_to_a_capped_address_is_refused(invite, org_a, team_admin, capture):
    """CAM-4: the caps belong to the address, not to the row carrying it: after two sends to
    A, re-targeting A→B→A is refused with the clear reason and nothing changes."""
    member, _link = invite()
    with scope(org=org_a), capture(execute=True):
        member_resend(org=org_a, actor=team_admin, member=member)
        member_retarget(org=org_a, actor=team_admin, member=fresh(member), email="b@example.org")
    assert history(org_a, "kenji@example.jp") == (2, 0)
    assert history(org_a, "b@example.org") == (1, 0)
    before, outbox = team_snapshot(org_a), len(mail.outbox)
    with scope(org=org_a), pytest.raises(ActionRefused, match="already sent twice") as refused:
        member_retarget(org=org_a, actor=team_admin, member=fresh(member), email="Kenji@Example.jp")
    assert refused.value.field == "email"
    assert team_snapshot(org_a) == before
    assert len(mail.outbox) == outbox
    assert history(org_a, "kenji@example.jp") == (2, 0)


def test_cam4_declines_follow_the_address_through_retargeting(invite, org_a, team_admin):
    """CAM-4: two declines from A block A even when the second row to carry A is another."""
    member, link = invite()
    decline(link)
    member, link = invite()
    decline(link)
    other, _link = invite("b@example.org")
    with scope(org=org_a), pytest.raises(ActionRefused, match="declined our invitation twice"):
        member_retarget(org=org_a, actor=team_admin, member=other, email="kenji@example.jp")


def test_cam4_a_third_send_after_removal_and_reinvite_is_refused(
    invite, org_a, team_admin, capture
):
    """CAM-4: removal does not reset the address's history, nor does the row's purge."""
    member, _link = invite()
    with scope(org=org_a), capture(execute=True):
        member_remove(org=org_a, actor=team_admin, member=member)
    member, _link = invite()  # the second send
    with scope(org=org_a):
        member_remove(org=org_a, actor=team_admin, member=fresh(member))
    with scopes_disabled():
        CampaignMember.objects.filter(pk=member.pk).delete()  # as the retention purge does
    before = team_snapshot(org_a)
    with scope(org=org_a), pytest.raises(ActionRefused, match="already sent twice"):
        member_invite(org=org_a, actor=team_admin, email="kenji@example.jp")
    assert team_snapshot(org_a) == before
    assert history(org_a, "kenji@example.jp") == (2, 0)


def test_cam4_unblock_lifts_the_address_history(invite, org_a, team_admin, capture):
    """CAM-4: the operator command starts the address's history again (audited), so the
    re-target back to it, refused before, goes through."""
    member, _link = invite()
    with scope(org=org_a), capture(execute=True):
        member_resend(org=org_a, actor=team_admin, member=member)
        member_retarget(org=org_a, actor=team_admin, member=fresh(member), email="b@example.org")
    call_command("campaigns_unblock_address", "KENJI@example.jp", "--operator", "ops-anna")
    assert history(org_a, "kenji@example.jp") == (0, 0)
    with scopes_disabled():
        entry = AuditLogEntry.objects.get(org=org_a, action="campaigns.address_unblocked")
    assert entry.details == {
        "email": "kenji@example.jp",
        "operator": "ops-anna",
        "sends": 2,
        "declines": 0,
    }
    with scope(org=org_a), capture(execute=True):
        member_retarget(org=org_a, actor=team_admin, member=fresh(member), email="kenji@example.jp")
    assert fresh(member).email == "kenji@example.jp"
    assert fresh(member).send_count == 1
    assert history(org_a, "kenji@example.jp") == (1, 0)


def test_cam4_the_data_migration_fills_the_history_from_members(invite, org_a, capture):
    """CAM-4 (migration 0004): each member's send and decline counts become its address's
    history, so a cap reached before the upgrade still holds after it."""
    import importlib

    from django.apps import apps

    from campaigns_users.models import CampaignAddress

    migration = importlib.import_module("campaigns_users.migrations.0004_campaignaddress")
    member, link = invite()
    decline(link)
    with scopes_disabled():
        CampaignMember.objects.filter(pk=member.pk).update(email="Kenji@Example.jp")
        CampaignAddress.objects.all().delete()
        migration.fill_from_members(apps, None)  # (the historical models have no scopes)
    assert history(org_a, "kenji@example.jp") == (1, 1)
    with scopes_disabled():
        assert CampaignAddress.objects.count() == 1, "the team admin was never invited"
