"""The Campaigns team's cast: org A's super admin starts the team as its Standard Admin."""

import re

import pytest
from django.core import mail
from django.test import Client
from django_scopes import scope, scopes_disabled

from campaigns_users.models import CampaignMember
from campaigns_users.services import member_invite, team_start
from tests.users.factories import UserFactory

LINK = re.compile(r"https?://[^/\s]+(/invite/[^/\s]+/)")


@pytest.fixture
def team_admin(org_a, admin_a):
    with scope(org=org_a):
        return team_start(org=org_a, crm_user=admin_a)


@pytest.fixture
def invite(org_a, team_admin, django_capture_on_commit_callbacks):
    """Invite an address to org A's team as its admin; returns (member, link path)."""

    def make(email="kenji@example.jp", *, org=org_a, actor=team_admin, **kwargs):
        mail.outbox.clear()
        with scope(org=org), django_capture_on_commit_callbacks(execute=True):
            member = member_invite(org=org, actor=actor, email=email, **kwargs)
        [message] = mail.outbox
        return member, LINK.search(message.body).group(1)

    return make


def fresh(member) -> CampaignMember:
    with scopes_disabled():
        return CampaignMember.objects.select_related("role").get(pk=member.pk)


def signed_in(email) -> Client:
    client = Client()
    client.force_login(UserFactory(email=email))
    return client


def team_snapshot(org):
    with scopes_disabled():
        return sorted(
            CampaignMember.objects.filter(org=org).values_list(
                "email", "status", "role_id", "send_count", "decline_count", "user_id"
            )
        )


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks
