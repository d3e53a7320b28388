"""A deleted Campaigns account (CAM-8, CAM-10), with a frozen clock: the services take `now`,
so every step happens at a chosen instant. Data is kept six months; notices go out 30 and 7
days before the purge, once each; the purge re-checks each account; joining again within the
window restores the data."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django_scopes import scope, scopes_disabled

from campaigns_users.models import CampaignMember, SenderAddress
from campaigns_users.retention import (
    deleted_accounts_notify,
    deleted_accounts_purge,
    member_account_delete,
)
from campaigns_users.senders import sender_add
from crm_portal.exceptions import ActionRefused
from tests.users.factories import UserFactory
from users.models import AuditLogEntry

from .conftest import fresh

DELETED = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
PURGE = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)  # six calendar months later


@pytest.fixture
def kenji(org_a, invite, capture):
    """kenji@example.jp joined org A's team and added a sender address."""
    member, link = invite()
    client = Client()
    client.force_login(UserFactory(email="kenji@example.jp"))
    client.post(f"{link}accept/")
    with scope(org=org_a), capture(execute=True):
        sender_add(org=org_a, actor=fresh(member), email="kenji-news@alpha.example")
    return fresh(member)


def senders(org):
    with scopes_disabled():
        return list(SenderAddress.objects.filter(org=org).values_list("email", flat=True))


def test_cam8_deleting_keeps_the_data_six_months(org_a, kenji):
    with scope(org=org_a):
        member = member_account_delete(member=kenji, now=DELETED)
    assert member.status == CampaignMember.Status.REMOVED
    assert member.purge_at == PURGE
    assert deleted_accounts_purge(now=PURGE - timedelta(seconds=1)) == 0
    assert senders(org_a) == ["kenji-news@alpha.example"]
    assert deleted_accounts_purge(now=PURGE) == 1
    assert senders(org_a) == []
    with scopes_disabled():
        assert not CampaignMember.objects.filter(pk=kenji.pk).exists()
        assert AuditLogEntry.objects.filter(org=org_a, action="campaigns.account_purged").exists()
    assert deleted_accounts_purge(now=PURGE + timedelta(days=1)) == 0


def test_cam10_two_notices_30_and_7_days_before_once_each(org_a, kenji, capture):
    with scope(org=org_a):
        member_account_delete(member=kenji, now=DELETED)
    mail.outbox.clear()
    for now, expected in (
        (PURGE - timedelta(days=31), 0),
        (PURGE - timedelta(days=30), 1),
        (PURGE - timedelta(days=29), 0),  # already sent
        (PURGE - timedelta(days=7), 1),
        (PURGE - timedelta(days=6), 0),
    ):
        with capture(execute=True):
            assert deleted_accounts_notify(now=now) == expected, now
    assert [m.to for m in mail.outbox] == [["kenji@example.jp"], ["kenji@example.jp"]]
    assert "30 days" in mail.outbox[0].subject
    assert "7 days" in mail.outbox[1].subject


def test_cam8_joining_again_within_the_window_restores_the_data(org_a, kenji, invite):
    with scope(org=org_a):
        member_account_delete(member=kenji, now=DELETED)
    _member, link = invite()
    page = Client()
    page.force_login(kenji.user)
    assert 'id="restore-offer"' in page.get(link).content.decode()
    page.post(f"{link}accept/")
    restored = fresh(kenji)
    assert restored.status == CampaignMember.Status.ASSOCIATED
    assert restored.account_deleted_at is None and restored.purge_at is None
    assert deleted_accounts_purge(now=PURGE + timedelta(days=1)) == 0, "re-checked: restored"
    assert senders(org_a) == ["kenji-news@alpha.example"]


def test_cam8_a_pending_reinvitation_is_not_purged(org_a, kenji, invite):
    """The purge re-checks the state: an address invited again is not erased under it."""
    with scope(org=org_a):
        member_account_delete(member=kenji, now=DELETED)
    invite()
    assert deleted_accounts_purge(now=PURGE) == 0
    assert senders(org_a) == ["kenji-news@alpha.example"]


def test_cam8_the_last_admin_cannot_delete_their_account(org_a, team_admin):
    with scope(org=org_a), pytest.raises(ActionRefused, match="only admin"):
        member_account_delete(member=team_admin, now=DELETED)
    assert fresh(team_admin).account_deleted_at is None
