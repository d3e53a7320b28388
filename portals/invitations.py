"""Portal users' invitations (POR-3, POR-4): the adapter of the "portal_user" kind of the
generic invitation core (DESIGN: Invitations). The PortalUser holds a OneToOne to its
Invitation; accepting binds the portal user to the account and makes them Active."""

from django.db import IntegrityError, connection, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused
from invitations.kinds import InvitationKind
from invitations.models import Invitation
from invitations.services import membership_lock
from users.audit import audit_log_write

from .default_emails import ACCEPT_INVITATION
from .emails import render_for_invitation, rendering_batch
from .models import FailedInvitation, PortalUser

KIND = "portal_user"
OBSTACLE_TEMPLATE = "portals/users/invitation_obstacle.html"
# What the mail provider reported (Invitation.Delivery) → the failed-invitation log's reason.
FAILED_BECAUSE = {
    Invitation.Delivery.BOUNCED: FailedInvitation.Reason.BOUNCED,
    Invitation.Delivery.REJECTED: FailedInvitation.Reason.PROVIDER_REJECTED,
    Invitation.Delivery.COMPLAINED: FailedInvitation.Reason.COMPLAINED,
}


def portal_home_url(portal) -> str:
    """/portal/<slug>/, by its route name once the portal site has it."""
    try:
        return reverse("portal_home", kwargs={"portal_slug": portal.slug})
    except NoReverseMatch:
        return f"/portal/{portal.slug}/"


def portal_user_obstacle(portal_user: PortalUser) -> str:
    """Why this portal user cannot accept or use the portal now, as a sentence; "" if nothing."""
    if not portal_user.portal.is_enabled:
        return _("The portal %(portal)s is turned off for now. Ask %(org)s for help.") % {
            "portal": portal_user.portal.name,
            "org": portal_user.org.name,
        }
    if portal_user.status == PortalUser.Status.DISABLED:
        return _("Your access to the portal %(portal)s was disabled. Ask %(org)s for help.") % {
            "portal": portal_user.portal.name,
            "org": portal_user.org.name,
        }
    return ""


class PortalUserInvitations(InvitationKind):
    """A contact's access to one portal (POR-3)."""

    kind = KIND
    membership_field = "portal_user"
    email_template = "portals/email/invitation"
    accept_template = "portals/users/invitation_accept.html"

    def invitation_create(self, membership: PortalUser, **fields) -> Invitation:
        with transaction.atomic():
            locked = membership_lock(membership)
            if locked.invitation_id:
                invitation = Invitation.objects.get(pk=locked.invitation_id)
            else:
                invitation = Invitation.objects.create(**fields)
                locked.invitation = invitation
                locked.save(update_fields=["invitation", "updated_at"])
        membership.invitation = invitation
        return invitation

    def invitations_link(self, pairs: list[tuple[PortalUser, Invitation]]) -> None:
        """AUT-12: the auto-invite sender's batch, tied in one UPDATE … FROM unnest (the
        caller holds the portal users locked: SKIP LOCKED claim)."""
        if not pairs:
            return
        now = timezone.now()
        if connection.vendor != "postgresql":
            for portal_user, invitation in pairs:
                PortalUser.objects.filter(pk=portal_user.pk).update(
                    invitation=invitation, updated_at=now
                )
        else:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {PortalUser._meta.db_table} AS pu SET invitation_id = v.i,"
                    " updated_at = %s FROM unnest(%s::bigint[], %s::bigint[]) AS v(p, i)"
                    " WHERE pu.id = v.p AND pu.invitation_id IS NULL",
                    [now, [pu.pk for pu, _inv in pairs], [inv.pk for _pu, inv in pairs]],
                )
                if cursor.rowcount != len(pairs):  # the caller's lock makes this impossible
                    raise IntegrityError("A portal user got an invitation meanwhile.")
        for portal_user, invitation in pairs:
            portal_user.invitation = invitation
            invitation.portal_user = portal_user  # read by the email without a query

    def rendering(self):
        return rendering_batch()

    def email_context(self, invitation: Invitation) -> dict:
        portal_user = self.membership_of(invitation)
        if portal_user is None:
            return {}
        return {
            "portal_name": portal_user.portal.name,
            "portal_url": portal_home_url(portal_user.portal),
            "contact_name": str(portal_user.contact),
        }

    def render_email(self, invitation: Invitation, context: dict) -> tuple[str, str, str] | None:
        """POR-6: the portal's own "Accept invitation" email (its template for the group and
        language, else the built-in text; portals.emails), with the contact's merge fields."""
        portal_user = self.membership_of(invitation)
        if portal_user is None:
            return None
        return render_for_invitation(
            portal_user.portal,
            ACCEPT_INVITATION,
            invitation.language,
            portal_user.group,
            {**context, "contact": portal_user.contact},
        )

    def delivery_failed(self, invitation: Invitation, *, state: str, detail: str) -> None:
        """AUT-7, AUT-9: the failed-invitation log gets the provider's report."""
        portal_user = self.membership_of(invitation)
        if portal_user is None:
            return
        FailedInvitation.objects.create(
            org=invitation.org,
            portal=portal_user.portal,
            contact=portal_user.contact,
            invitation=invitation,
            record_name=str(portal_user.contact)[:300],
            email=invitation.email,
            language=invitation.language,
            reason=FAILED_BECAUSE[state],
            detail=detail[:2000],
        )

    # POR-9: a contact whose link expired may ask for a new one from the invalid-link page.
    allows_self_service_resend = True

    def resend_on_request_allowed(self, invitation: Invitation) -> bool:
        """Only while the portal user has not accepted yet and the portal is turned on."""
        portal_user = self.membership_of(invitation)
        return (
            portal_user is not None
            and portal_user.status == PortalUser.Status.INVITED
            and portal_user.portal.is_enabled
        )

    def resent_on_request(self, invitation: Invitation, *, ip: str | None = None) -> None:
        portal_user = self.membership_of(invitation)
        audit_log_write(
            org=invitation.org,
            actor=None,
            action="portal_user.reinvited",
            ip=ip,
            details={
                "email": portal_user.email,
                "portal": portal_user.portal.name,
                "group": portal_user.group.name,
                "requested_by": "invitee",
            },
        )

    def obstacle(self, *, invitation: Invitation, user) -> tuple[str, dict] | None:
        portal_user = self.membership_of(invitation)
        reason = portal_user_obstacle(portal_user) if portal_user else ""
        if not reason:
            return None
        return OBSTACLE_TEMPLATE, {"reason": reason, "portal_user": portal_user}

    def accept(self, *, invitation: Invitation, membership: PortalUser, user) -> None:
        """Bind the account (its verified address is the invited one: the core checked), make
        the portal user Active. A disabled user or portal is refused; an account that already
        is another user of this portal is refused by the constraint."""
        reason = portal_user_obstacle(membership)
        if reason:
            raise ActionRefused(reason)
        membership.user = user
        membership.status = PortalUser.Status.ACTIVE
        try:
            with transaction.atomic():
                membership.save(update_fields=["user", "status", "updated_at"])
        except IntegrityError:
            raise ActionRefused(
                _("This account is already used by another user of this portal.")
            ) from None
        audit_log_write(
            org=invitation.org,
            actor=None,
            action="portal_user.accepted",
            details={"email": membership.email, "portal": membership.portal.name},
        )

    def landing_url(self, invitation: Invitation) -> str:
        portal_user = self.membership_of(invitation)
        return portal_home_url(portal_user.portal) if portal_user else "/"
