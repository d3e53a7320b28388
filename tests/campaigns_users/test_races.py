"""Two admins inviting the last seat at once (CAM-2): the org row's lock lets invitations take
turns, so exactly one gets the seat and the other a clear refusal — never a sixth member or
a 500. Real threads, real PostgreSQL connections."""

import threading

import pytest
from django.db import connection
from django_scopes import scope, scopes_disabled

from campaigns_users.models import CampaignMember
from campaigns_users.services import member_invite, team_start
from crm_portal.exceptions import ActionRefused
from tests.users.factories import CrmUserFactory, OrganizationFactory

ROUNDS = 5


def invite_at_once(org, admin, emails) -> list[str]:
    """Each address invited by its own thread, released together; what each got."""
    barrier = threading.Barrier(len(emails))
    outcomes = []

    def invite(email):
        try:
            barrier.wait(timeout=30)
            with scope(org=org):
                member_invite(org=org, actor=admin, email=email)
            outcomes.append("invited")
        except ActionRefused as refusal:
            outcomes.append(refusal.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=invite, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


@pytest.mark.django_db(transaction=True)
def test_cam2_two_invitations_for_the_last_seat_at_once_one_wins(settings):
    settings.CAMPAIGNS_TEAM_LIMITS = {"free": 2}
    for round_number in range(ROUNDS):
        with scopes_disabled():
            org = OrganizationFactory()
            founder = CrmUserFactory(org=org, is_super_admin=True)
        with scope(org=org):
            admin = team_start(org=org, crm_user=founder)
        emails = [f"r{round_number}-{n}@example.com" for n in (1, 2)]
        outcomes = invite_at_once(org, admin, emails)
        assert outcomes == ["Your Campaigns team already has 2 of 2 members.", "invited"]
        with scopes_disabled():
            assert CampaignMember.objects.filter(org=org).count() == 2
