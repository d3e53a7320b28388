"""Campaigns members' invitations (CAM-3, CAM-4, CAM-5): the adapter of the "campaigns_member"
kind of the one invitation core (DESIGN: Invitations). The CampaignMember holds a OneToOne to
its Invitation; accepting makes the member Associated; the link can be declined."""

from django.db import transaction
from django.urls import reverse

from invitations.kinds import InvitationKind
from invitations.models import Invitation
from invitations.services import membership_lock

from .models import CampaignMember
from .selectors import team_of_elsewhere
from .services import KIND, member_accept, member_decline, other_team_sentence


class CampaignMemberInvitations(InvitationKind):
    """A place in an org's Campaigns team."""

    kind = KIND
    membership_field = "campaign_member"
    email_template = "campaigns_users/email/invitation"
    accept_template = "campaigns_users/invitation_accept.html"
    allows_decline = True

    def invitation_create(self, membership: CampaignMember, **fields) -> Invitation:
        with transaction.atomic():
            locked = membership_lock(membership)
            if locked.invitation_id:
                invitation = Invitation.objects.get(pk=locked.invitation_id)
            else:
                invitation = Invitation.objects.create(**fields)
                locked.invitation = invitation
                locked.save(update_fields=["invitation"])
        membership.invitation = invitation
        return invitation

    def email_context(self, invitation: Invitation) -> dict:
        member = self.membership_of(invitation)
        return {"role_name": str(member.role) if member else ""}

    def obstacle(self, *, invitation: Invitation, user) -> tuple[str, dict] | None:
        """CAM-5: still in another org's team: the page says what to do first."""
        elsewhere = team_of_elsewhere(user=user, org=invitation.org)
        if elsewhere is None:
            return None
        return "campaigns_users/invitation_other_team.html", {
            "elsewhere": elsewhere,
            "explanation": other_team_sentence(elsewhere),
        }

    def accept(self, *, invitation: Invitation, membership: CampaignMember, user) -> None:
        member_accept(invitation=invitation, member=membership, user=user)

    def decline(self, *, invitation: Invitation, membership: CampaignMember) -> None:
        member_decline(member=membership)

    def landing_url(self, invitation: Invitation) -> str:
        """Home, not the Campaigns area: the member stays Associated until they first open
        Campaigns (CAM-3)."""
        return reverse("home")
