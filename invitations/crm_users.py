"""CRM users' invitations (USR-3, USR-4, USR-5, USR-7, ORG-2, ORG-4): the adapter of the
"crm_user" kind, and the services that touch a CRM user and their invitation together: add and
invite, re-invite, send what was held, deactivate and revoke. They live here rather than in
users because users sits below invitations (DESIGN: Layers); the users pages call them."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from crm_portal.exceptions import ActionRefused
from users import permissions
from users.audit import audit_log_write
from users.models import CrmUser, Organization, Profile, Role, Territory, User
from users.permissions import require_permission, require_same_org
from users.selectors import other_active_membership
from users.services.members import crm_user_create, crm_user_deactivate

from .kinds import InvitationKind
from .models import Invitation
from .services import (
    invitation_for,
    invitation_of,
    invitation_revoke,
    invitation_send,
    membership_lock,
    refuse_invalid_invitation,
)

KIND = "crm_user"


class CrmUserInvitations(InvitationKind):
    """A CRM user of an org. Accepting binds the account and makes them Active (USR-4); a
    person is an active CRM user of one org at a time (ORG-4)."""

    kind = KIND
    membership_field = "crm_user"
    email_template = "invitations/email/crm_user_invitation"
    accept_template = "invitations/crm_user_accept.html"

    def invitation_create(self, membership: CrmUser, **fields) -> Invitation:
        invitation, _created = Invitation.objects.get_or_create(
            crm_user=membership, defaults=fields
        )
        return invitation

    def obstacle(self, *, invitation: Invitation, user) -> tuple[str, dict] | None:
        other = other_active_membership(user=user, org=invitation.org)
        if other is None:
            return None
        return "invitations/crm_user_other_org.html", _way_out(other)

    def accept(self, *, invitation: Invitation, membership: CrmUser, user) -> None:
        """ORG-4 is decided under the account's row lock (taken after the membership's):
        two invitations of two orgs accepted at once are serialised, and the second sees the
        first. The constraint stays the last word, answered with the same refusal."""
        if membership.status == CrmUser.Status.DEACTIVATED:
            refuse_invalid_invitation()
        User.objects.select_for_update().filter(pk=user.pk).first()
        other_org = _("You are already an active user of another organisation.")
        if other_active_membership(user=user, org=invitation.org):
            raise ActionRefused(other_org)
        membership.user = user
        membership.status = CrmUser.Status.ACTIVE
        membership.status_changed_at = invitation.accepted_at
        try:
            with transaction.atomic():
                membership.save(update_fields=["user", "status", "status_changed_at"])
        except IntegrityError:
            raise ActionRefused(other_org) from None
        audit_log_write(
            org=invitation.org, actor=membership, action="invitation.accepted", target=membership
        )

    def landing_url(self, invitation: Invitation) -> str:
        return reverse("dashboard", kwargs={"org_slug": invitation.org.slug})


def _way_out(other: CrmUser) -> dict:
    """ORG-4: what the person can do about their active membership of another org."""
    with scopes_disabled():
        active = CrmUser.objects.filter(org=other.org, status=CrmUser.Status.ACTIVE)
        only_active_user = not active.exclude(pk=other.pk).exists()
        other_admins = [
            m for m in active.exclude(pk=other.pk).select_related("profile") if m.is_admin
        ]
    return {
        "other": other,
        "only_active_user": only_active_user,
        "can_transfer": other.is_super_admin and bool(other_admins),
        "can_leave": not other.is_super_admin,
    }


def crm_user_invite(*, membership: CrmUser, actor: CrmUser) -> bool:
    """Send the CRM user a new link (created on first use); held while the org is unverified
    (ORG-2). True when a mail was queued."""
    invitation = invitation_for(kind=KIND, membership=membership, actor=actor)
    return invitation_send(invitation=invitation, actor=actor)


@transaction.atomic
def crm_user_add_and_invite(
    *,
    org: Organization,
    actor: CrmUser,
    first_name: str,
    last_name: str,
    email: str,
    role: Role,
    profile: Profile,
    territories: Iterable[Territory] = (),
    language: str = "",
    ip: str | None = None,
) -> CrmUser:
    """Add a CRM user and invite them (USR-3); held while the org is unverified (ORG-2)."""
    membership = crm_user_create(
        org=org,
        actor=actor,
        first_name=first_name,
        last_name=last_name,
        email=email,
        role=role,
        profile=profile,
        territories=territories,
        language=language,
    )
    sent = crm_user_invite(membership=membership, actor=actor)
    audit_log_write(
        org=org,
        actor=actor,
        action="user.added",
        target=membership,
        ip=ip,
        details={"role": role.name, "profile": profile.name, "invited": sent},
    )
    return membership


@transaction.atomic
def crm_users_reinvite(
    *, org: Organization, actor: CrmUser, memberships: Iterable[CrmUser], ip: str | None = None
) -> int:
    """Send a new link to each unconfirmed user; every older link dies (USR-5). All or
    nothing: one deactivated or active user in the selection refuses the whole request."""
    require_permission(actor, permissions.MANAGE_USERS)
    memberships = list(memberships)
    require_same_org(org, *memberships)
    deactivated = [m for m in memberships if m.status == CrmUser.Status.DEACTIVATED]
    if deactivated:
        raise ActionRefused(
            _("Activate %(names)s before re-inviting.")
            % {"names": ", ".join(str(m) for m in deactivated)}
        )
    active = [m for m in memberships if m.status == CrmUser.Status.ACTIVE]
    if active:
        raise ActionRefused(
            _("%(names)s already accepted the invitation.")
            % {"names": ", ".join(str(m) for m in active)}
        )
    sent = 0
    for membership in memberships:
        sent += crm_user_invite(membership=membership, actor=actor)
        audit_log_write(org=org, actor=actor, action="user.reinvited", target=membership, ip=ip)
    return sent


@transaction.atomic
def invitations_release_held(*, org: Organization, actor: CrmUser, ip: str | None = None) -> int:
    """After verification, send every invitation held while the org was unverified (ORG-2)."""
    require_permission(actor, permissions.MANAGE_USERS)
    if not org.is_verified:
        raise ActionRefused(
            _(
                "Confirm your email address first: invitations stay held until the organisation "
                "is verified."
            )
        )
    held = CrmUser.objects.filter(
        org=org, status=CrmUser.Status.UNCONFIRMED, invitation__status=Invitation.Status.HELD
    )
    return crm_users_reinvite(org=org, actor=actor, memberships=held, ip=ip)


@transaction.atomic
def crm_user_deactivate_and_revoke(
    *, org: Organization, actor: CrmUser, membership: CrmUser, ip: str | None = None
) -> CrmUser:
    """USR-7: deactivate the user (users.services.members.crm_user_deactivate: sessions end,
    a licence frees up) and revoke their pending invitation, so no link of theirs works. The
    membership row is locked first, then its invitation (DESIGN: Invitations)."""
    membership = crm_user_deactivate(
        org=org, actor=actor, membership=membership_lock(membership), ip=ip
    )
    invitation = invitation_of(kind=KIND, membership=membership, lock=True)
    if invitation and invitation.status in (Invitation.Status.SENT, Invitation.Status.HELD):
        invitation_revoke(invitation=invitation)
    return membership


def can_reinvite(member: CrmUser) -> bool:
    """Whether "Re-invite" makes sense for this member (USR-5): only someone who has not
    accepted yet and is not deactivated; the lists offer it for them alone (issue 11)."""
    return member.status == CrmUser.Status.UNCONFIRMED
