"""One invitation core for every membership kind (USR-4, ORG-4; DESIGN: Invitations):
the core asks the kind's adapter, listed once in INVITATION_KINDS, whatever differs; a kind that
is not listed or does not resolve fails loudly; the core never branches on the kind."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django_scopes import scope, scopes_disabled

from campaigns_users.invitations import CampaignMemberInvitations
from crm_portal.celery import app as celery_app
from crm_portal.exceptions import ActionRefused
from invitations.crm_users import (
    CrmUserInvitations,
    crm_user_add_and_invite,
    crm_user_deactivate_and_revoke,
)
from invitations.delivery import deliver_invitation_task
from invitations.kinds import invitation_kind, invitation_kinds
from invitations.models import Invitation
from tests.users.factories import UserFactory, builtin_profile, role_named
from users.models import CrmUser

ROOT = Path(django_settings.BASE_DIR)
LINK = re.compile(r"https?://[^/\s]+(/invite/[^/\s]+/)")


def invite_kenji(org, actor, capture):
    """Add kenji@example.jp to `org` and invite them; returns (membership, link path)."""
    mail.outbox.clear()
    with scope(org=org), capture(execute=True):
        membership = crm_user_add_and_invite(
            org=org,
            actor=actor,
            first_name="Kenji",
            last_name="Sato",
            email="kenji@example.jp",
            role=role_named(org, "Manager"),
            profile=builtin_profile(org, "standard"),
        )
    [message] = mail.outbox
    return membership, LINK.search(message.body).group(1)


def kenji_signed_in() -> Client:
    client = Client()
    client.force_login(UserFactory(email="kenji@example.jp"))
    return client


def stored(membership):
    with scopes_disabled():
        return (
            CrmUser.objects.get(pk=membership.pk),
            Invitation.objects.get(crm_user=membership),
        )


def test_usr4_the_registry_lists_the_kinds_and_crm_users_are_the_first():
    kinds = invitation_kinds()
    assert list(kinds) == ["crm_user", "portal_user", "campaigns_member"]
    assert isinstance(kinds["crm_user"], CrmUserInvitations)
    assert isinstance(kinds["campaigns_member"], CampaignMemberInvitations)
    assert isinstance(invitation_kind("crm_user"), CrmUserInvitations)


def test_usr4_a_kind_that_is_not_listed_fails_loudly_when_looked_up():
    with pytest.raises(ImproperlyConfigured, match="'team_guest' is not in INVITATION_KINDS"):
        invitation_kind("team_guest")


class NoMembershipField(CrmUserInvitations):
    """A kind whose membership_field names nothing on Invitation (a typo)."""

    membership_field = "crm_member"


@pytest.mark.parametrize(
    ("kinds", "problem"),
    [
        ({"crm_user": "invitations.crm_users.NoSuchAdapter"}, "does not import"),
        ({"crm_user": "invitations.models.Invitation"}, "is not an InvitationKind subclass"),
        ({"portal_user": "invitations.crm_users.CrmUserInvitations"}, "says its kind is"),
        (
            {"a_kind_too_long_for_the_column": "invitations.crm_users.CrmUserInvitations"},
            "longer than Invitation.kind",
        ),
        (
            {"crm_user": "tests.invitations.test_kinds.NoMembershipField"},
            "membership_field = 'crm_member' is no relation of Invitation",
        ),
    ],
)
def test_usr4_a_bad_entry_in_invitation_kinds_stops_startup(settings, kinds, problem):
    settings.INVITATION_KINDS = kinds
    with pytest.raises(ImproperlyConfigured, match=problem):
        apps.get_app_config("invitations").ready()


def test_usr4_a_link_of_a_kind_no_longer_listed_fails_loudly(
    org_a, admin_a, client, django_capture_on_commit_callbacks
):
    """Not quietly handled as some other kind: the deployment is misconfigured."""
    membership, link = invite_kenji(org_a, admin_a, django_capture_on_commit_callbacks)
    with scopes_disabled():
        Invitation.objects.filter(crm_user=membership).update(kind="retired")
    with pytest.raises(ImproperlyConfigured, match="'retired' is not in INVITATION_KINDS"):
        client.get(link)


class FullTeamInvitations(CrmUserInvitations):
    """A kind whose own precondition refuses every acceptance."""

    def accept(self, *, invitation, membership, user):
        raise ActionRefused("This team is full.")


class ElsewhereInvitations(CrmUserInvitations):
    """A kind with its own email wording and its own landing page."""

    def email_context(self, invitation):
        return {"inviter_name": "The onboarding robot"}

    def landing_url(self, invitation):
        return "/accounts/email/"


def test_org4_the_kinds_precondition_refuses_and_nothing_changes(
    settings, org_a, admin_a, django_capture_on_commit_callbacks
):
    membership, link = invite_kenji(org_a, admin_a, django_capture_on_commit_callbacks)
    settings.INVITATION_KINDS = {"crm_user": f"{__name__}.FullTeamInvitations"}
    response = kenji_signed_in().post(f"{link}accept/", follow=True)
    assert "This team is full." in response.content.decode()
    membership, invitation = stored(membership)
    assert membership.status == "unconfirmed" and membership.user is None
    assert invitation.status == "sent" and invitation.is_open, "the link still works"


def test_usr4_the_email_and_the_landing_page_are_the_kinds(
    settings, org_a, admin_a, django_capture_on_commit_callbacks
):
    settings.INVITATION_KINDS = {"crm_user": f"{__name__}.ElsewhereInvitations"}
    membership, link = invite_kenji(org_a, admin_a, django_capture_on_commit_callbacks)
    assert mail.outbox[0].subject == "The onboarding robot invited you to Alpha Corp on crm-portal"
    response = kenji_signed_in().post(f"{link}accept/")
    assert response.status_code == 302 and response["Location"] == "/accounts/email/"
    membership, invitation = stored(membership)
    assert membership.status == "active" and invitation.status == "accepted"


def test_usr7_deactivating_an_invited_user_kills_their_link(
    client_admin_a, org_a, admin_a, client, django_capture_on_commit_callbacks
):
    membership, link = invite_kenji(org_a, admin_a, django_capture_on_commit_callbacks)
    client_admin_a.post(f"/o/{org_a.slug}/users/{membership.pk}/deactivate/")
    membership, invitation = stored(membership)
    assert membership.status == "deactivated"
    assert invitation.status == "revoked" and invitation.token_hash is None
    assert client.get(link).status_code == 404
    kenji_signed_in().post(f"{link}accept/")
    assert stored(membership)[0].status == "deactivated"


def test_usr7_deactivation_decides_on_the_locked_row_not_a_stale_copy(
    org_a, admin_a, django_capture_on_commit_callbacks
):
    """Two admins deactivate at once: the second reads the row again under the lock."""
    membership, _link = invite_kenji(org_a, admin_a, django_capture_on_commit_callbacks)
    stale = stored(membership)[0]
    with scope(org=org_a):
        crm_user_deactivate_and_revoke(org=org_a, actor=admin_a, membership=membership)
        with pytest.raises(ActionRefused, match="already deactivated"):
            crm_user_deactivate_and_revoke(org=org_a, actor=admin_a, membership=stale)


def test_x4_the_delivery_task_keeps_its_registered_name():
    """Messages queued before the task moved beside its service still find it."""
    registered = celery_app.tasks["invitations.tasks.deliver_invitation_task"]
    assert registered.run.__module__ == "invitations.delivery"
    assert registered is deliver_invitation_task._get_current_object()


# The core: every invitations module except the CRM-user kind's own (crm_users.py), the
# models, which hold the CRM kind's relation (CrmUser lives in users, below this app, so it
# cannot hold a OneToOne to Invitation as a higher app's membership does), and the package
# docstring, which names crm_users.py as the example. CrmUser may appear only as who sends an
# invitation (invited_by, actor), never for what a kind does.
CORE_MODULES = sorted(
    path
    for path in (ROOT / "invitations").glob("*.py")
    if path.name not in {"crm_users.py", "models.py", "__init__.py"}
)
CORE_TEMPLATES = [
    ROOT / "templates/invitations" / name
    for name in (
        "welcome.html",
        "wrong_account.html",
        "invalid.html",
        "decline.html",
        "declined.html",
    )
]
KIND_BRANCH = re.compile(
    r"crm_user|CRM_USER|CRM user|CrmUser\.|\bKind\."
    r"|kind\s*(==|!=)\s*[\"']|kind\s+(not\s+)?in\s*[(\[{]"
)


@pytest.mark.parametrize("path", CORE_MODULES + CORE_TEMPLATES, ids=lambda p: p.name)
def test_usr4_the_core_has_no_branch_on_a_kind(path):
    found = [line.strip() for line in path.read_text().splitlines() if KIND_BRANCH.search(line)]
    assert found == [], f"{path.relative_to(ROOT)} speaks of a particular kind"
