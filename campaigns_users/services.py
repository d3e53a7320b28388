"""Writes of the Campaigns team (CAM-1 … CAM-6, CAM-9): keyword-only, validate first, one
transaction, an audit entry for every action (point 10). Every status change goes through the
one map, statuses.transition. The invitation itself is the core's (invitations.services),
of the "campaigns_member" kind (campaigns_users.invitations)."""

from django.core.exceptions import PermissionDenied
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.forms import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from crm_portal.exceptions import ActionRefused
from invitations.models import Invitation
from invitations.services import (
    invitation_for,
    invitation_of,
    invitation_revoke,
    invitation_send,
    membership_lock,
)
from users.audit import audit_log_write
from users.models import CrmUser, Organization, User

from . import permissions
from .models import CampaignAddress, CampaignMember, CampaignRole, SenderAddress
from .selectors import (
    address_block_reason,
    address_history,
    admins_in_team,
    block_reason,
    member_for_address,
    seats_used,
    team_limit,
    team_of_elsewhere,
)
from .statuses import SEATED, Status, transition

KIND = "campaigns_member"


def campaign_roles_ensure(*, org: Organization) -> dict[str, CampaignRole]:
    """CAM-1: the org's built-in Standard Admin and Standard User, made on first use."""
    defaults = {
        CampaignRole.STANDARD_ADMIN: ("Standard Admin", permissions.ALL),
        CampaignRole.STANDARD_USER: ("Standard User", permissions.STANDARD_USER),
    }
    roles = {}
    for builtin, (name, allowed) in defaults.items():
        roles[builtin], _created = CampaignRole.objects.get_or_create(
            org=org, builtin=builtin, defaults={"name": name, "permissions": allowed}
        )
    return roles


def audit(*, org, actor: CampaignMember | None, action: str, member, ip=None, **details):
    """Point 10: the audit log names the CRM user who acted (the area is theirs) and the
    member's address."""
    by = None
    if actor is not None and actor.user_id:
        by = CrmUser.objects.filter(org=org, user_id=actor.user_id).first()
    audit_log_write(
        org=org,
        actor=by,
        action=action,
        ip=ip,
        details={"email": member.email, "role": member.role.name, **details},
    )


def require_admin(org: Organization, actor: CampaignMember | None, *members) -> None:
    """Only an admin of this org's team runs it (CAM-2, CAM-6)."""
    if actor is None or actor.org_id != org.pk or not actor.is_admin:
        raise PermissionDenied
    for member in members:
        if member.org_id != org.pk:
            raise PermissionDenied


def refuse_self(actor: CampaignMember, member: CampaignMember) -> None:
    if actor.pk == member.pk:
        raise ActionRefused(_("You can't do this to yourself. Ask another admin."))


def clean_address(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ActionRefused(_("Enter a valid email address."), field="email") from None
    return email


def role_of(org: Organization, role: CampaignRole | None) -> CampaignRole:
    """The chosen role (of this org), else Standard User (CAM-2)."""
    if role is None:
        return campaign_roles_ensure(org=org)[CampaignRole.STANDARD_USER]
    if role.org_id != org.pk:
        raise PermissionDenied
    return role


def lock_team(org: Organization) -> None:
    """Invitations to one org's team take turns (the org row's lock): the seat count and the
    address's row are read by one invitation at a time (CAM-2, CAM-4)."""
    Organization.objects.select_for_update().filter(pk=org.pk).first()


def refuse_full_team(org: Organization) -> None:
    limit = team_limit(org)
    if seats_used(org) >= limit:
        raise ActionRefused(
            _("Your Campaigns team already has %(limit)s of %(limit)s members.") % {"limit": limit}
        )


def address_record(org: Organization, email: str) -> CampaignAddress:
    """CAM-4: the address's history in the org, made on first use, locked till the end of the
    transaction (concurrent first uses meet on the unique constraint, not in an error)."""
    email = email.lower()
    with scope(org=org):
        CampaignAddress.objects.bulk_create(
            [CampaignAddress(org=org, email=email)], ignore_conflicts=True
        )
        return address_history(org=org, email=email, lock=True)


def refuse_blocked(org: Organization, email: str, *, field: str | None = "email") -> None:
    """CAM-4: the address's history decides, whatever member row carries the address."""
    reason = address_block_reason(org=org, email=email, lock=True)
    if reason:
        raise ActionRefused(reason, field=field)


def send(member: CampaignMember, actor: CampaignMember | None) -> bool:
    """Send the member's invitation (created on first use); counts a send to the address
    (CAM-4), in the address's history and in the member's copy of it."""
    by = CrmUser.objects.filter(org=member.org, user_id=actor.user_id).first() if actor else None
    invitation = invitation_for(kind=KIND, membership=member, actor=by)
    sent = invitation_send(invitation=invitation, actor=by)
    history = address_record(member.org, member.email)
    history.sends += int(sent)
    history.save(update_fields=["sends", "updated_at"])
    member.send_count, member.decline_count = history.sends, history.declines
    member.save(update_fields=["send_count", "decline_count"])
    return sent


def set_status(member: CampaignMember, action: str, **fields) -> None:
    member.status = transition(action, member.status)
    member.status_changed_at = timezone.now()
    for name, value in fields.items():
        setattr(member, name, value)
    member.save(update_fields=["status", "status_changed_at", *fields])


@transaction.atomic
def member_invite(
    *,
    org: Organization,
    actor: CampaignMember,
    email: str,
    role: CampaignRole | None = None,
    language: str = "",
    ip: str | None = None,
) -> CampaignMember:
    """CAM-2, CAM-4: invite an address to the team (a new one, or one whose invitation
    ended). Only admins; not past the team limit; not an address that is blocked."""
    require_admin(org, actor)
    email, role = clean_address(email), role_of(org, role)
    lock_team(org)
    existing = member_for_address(org=org, email=email)
    if existing is not None:
        existing = membership_lock(existing)
        if existing.status in SEATED:
            raise ActionRefused(
                _("%(email)s is already in your Campaigns team.") % {"email": email},
                field="email",
            )
    refuse_blocked(org, email)
    refuse_full_team(org)
    if existing is None:
        member = CampaignMember.objects.create(
            org=org,
            email=email,
            role=role,
            language=language or org.language,
            invited_by=CrmUser.objects.filter(org=org, user_id=actor.user_id).first(),
            status=Status.INVITED,
            status_changed_at=timezone.now(),
        )
    else:
        member = existing
        set_status(member, "invite", role=role, language=language or member.language)
    sent = send(member, actor)
    audit(org=org, actor=actor, action="campaigns.member_invited", member=member, ip=ip, sent=sent)
    return member


@transaction.atomic
def member_resend(
    *, org: Organization, actor: CampaignMember, member: CampaignMember, ip: str | None = None
) -> CampaignMember:
    """CAM-4: the second and last send to the address; every older link dies."""
    require_admin(org, actor, member)
    member = membership_lock(member)
    transition("resend", member.status)
    refuse_blocked(org, member.email, field=None)
    send(member, actor)
    audit(org=org, actor=actor, action="campaigns.member_resent", member=member, ip=ip)
    return member


@transaction.atomic
def member_retarget(
    *,
    org: Organization,
    actor: CampaignMember,
    member: CampaignMember,
    email: str,
    ip: str | None = None,
) -> CampaignMember:
    """CAM-9: the pending invitation goes to another address; the old link dies at once (the
    new send draws a new token)."""
    require_admin(org, actor, member)
    email = clean_address(email)
    lock_team(org)
    member = membership_lock(member)
    transition("retarget", member.status)
    other = member_for_address(org=org, email=email)
    if other is not None:
        reason = block_reason(other) if other.pk != member.pk else ""
        raise ActionRefused(
            reason or _("%(email)s already has a place in your Campaigns team.") % {"email": email},
            field="email",
        )
    refuse_blocked(org, email)  # CAM-4: A→B→A brings A's history back
    old = member.email
    member.email = email
    member.save(update_fields=["email"])
    sent = send(member, actor)
    audit(
        org=org,
        actor=actor,
        action="campaigns.member_retargeted",
        member=member,
        ip=ip,
        old=old,
        new=email,
        sent=sent,
    )
    return member


def member_accept(*, invitation: Invitation, member: CampaignMember, user) -> None:
    """CAM-3, CAM-5: the invited account joins as Associated, unless it is still in another
    org's team (decided under the account's lock; the constraint is the last word). A member
    deactivated or removed meanwhile has a dead link (CAM-6). The address's counts start again
    (CAM-4): its invitations were answered."""
    if member.status != Status.INVITED:
        raise ActionRefused(_("This invitation is no longer valid."))
    User.objects.select_for_update().filter(pk=user.pk).first()
    elsewhere = team_of_elsewhere(user=user, org=member.org)
    if elsewhere is not None:
        raise ActionRefused(other_team_sentence(elsewhere))
    restored = member.account_deleted_at is not None  # CAM-8: joining again restores
    try:
        with transaction.atomic():
            set_status(
                member,
                "accept",
                user=user,
                send_count=0,
                decline_count=0,
                account_deleted_at=None,
                purge_at=None,
                notified_30_days_at=None,
                notified_7_days_at=None,
            )
    except IntegrityError:
        raise ActionRefused(_("This account is already in a Campaigns team.")) from None
    with scope(org=member.org):
        CampaignAddress.objects.filter(org=member.org, email=member.email.lower()).update(
            sends=0, declines=0, updated_at=timezone.now()
        )
    audit(org=member.org, actor=member, action="campaigns.member_accepted", member=member)
    if restored:
        audit(org=member.org, actor=member, action="campaigns.account_restored", member=member)


def other_team_sentence(elsewhere: CampaignMember) -> str:
    return _(
        "You are a member of the Campaigns team of %(org)s. A person belongs to one Campaigns "
        "team at a time: ask an admin of %(org)s to remove you, or leave that team yourself, "
        "then open this invitation again."
    ) % {"org": elsewhere.org.name}


def member_decline(*, member: CampaignMember) -> None:
    """CAM-4: the invited person declined through the link; two declines block the address
    (counted in its history, which re-targeting and removal don't reset)."""
    history = address_record(member.org, member.email)
    history.declines += 1
    history.save(update_fields=["declines", "updated_at"])
    set_status(member, "decline", send_count=history.sends, decline_count=history.declines)
    audit(
        org=member.org,
        actor=None,
        action="campaigns.member_declined",
        member=member,
        declines=member.decline_count,
    )


@transaction.atomic
def member_first_visit(*, member: CampaignMember) -> CampaignMember:
    """CAM-3: an Associated member's first visit to the Campaigns area makes them Active."""
    member = membership_lock(member)
    if member.status == Status.ASSOCIATED:
        set_status(member, "first_visit")
        audit(org=member.org, actor=member, action="campaigns.member_activated", member=member)
    return member


@transaction.atomic
def team_start(*, org: Organization, crm_user: CrmUser) -> CampaignMember | None:
    """The first CRM administrator to open the Campaigns area of an org whose team has no
    admin becomes its Standard Admin (CAM-1: the team always has one). None when the team
    already has an admin, the person is no CRM administrator, or is in another team."""
    if not crm_user.is_admin or crm_user.user_id is None or admins_in_team(org):
        return None
    if team_of_elsewhere(user=crm_user.user, org=org) is not None:
        return None
    admin = campaign_roles_ensure(org=org)[CampaignRole.STANDARD_ADMIN]
    member = member_for_address(org=org, email=crm_user.email) or CampaignMember(
        org=org, email=crm_user.email.lower(), language=crm_user.language or org.language
    )
    member.user, member.role, member.status = crm_user.user, admin, Status.ACTIVE
    member.status_changed_at = timezone.now()
    member.save()
    audit(org=org, actor=member, action="campaigns.team_started", member=member)
    return member


@transaction.atomic
def member_deactivate(
    *, org: Organization, actor: CampaignMember, member: CampaignMember, ip: str | None = None
) -> CampaignMember:
    """CAM-6: an admin deactivates anyone but themselves."""
    require_admin(org, actor, member)
    refuse_self(actor, member)
    member = membership_lock(member)
    set_status(member, "deactivate")
    audit(org=org, actor=actor, action="campaigns.member_deactivated", member=member, ip=ip)
    return member


@transaction.atomic
def member_reactivate(
    *, org: Organization, actor: CampaignMember, member: CampaignMember, ip: str | None = None
) -> CampaignMember:
    """CAM-6: an admin reactivates anyone but themselves."""
    require_admin(org, actor, member)
    refuse_self(actor, member)
    member = membership_lock(member)
    set_status(member, "reactivate")
    audit(org=org, actor=actor, action="campaigns.member_reactivated", member=member, ip=ip)
    return member


@transaction.atomic
def member_remove(
    *, org: Organization, actor: CampaignMember, member: CampaignMember, ip: str | None = None
) -> CampaignMember:
    """CAM-6: an admin removes anyone but themselves; a pending link dies with it."""
    require_admin(org, actor, member)
    refuse_self(actor, member)
    member = membership_lock(member)
    set_status(member, "remove")
    revoke_pending(member)
    senders_delete(member)
    audit(org=org, actor=actor, action="campaigns.member_removed", member=member, ip=ip)
    return member


def revoke_pending(member: CampaignMember) -> None:
    invitation = invitation_of(kind=KIND, membership=member, lock=True)
    if invitation and invitation.status in (Invitation.Status.SENT, Invitation.Status.HELD):
        invitation_revoke(invitation=invitation)


def senders_delete(member: CampaignMember) -> None:
    """CAM-7: a member who leaves the team takes the sender addresses they added."""
    SenderAddress.objects.filter(org=member.org, added_by=member).delete()


def refuse_last_admin(member: CampaignMember, sentence: str) -> None:
    """CAM-1: the team keeps at least one admin."""
    others = [m for m in admins_in_team(member.org) if m.pk != member.pk]
    if member.is_admin and not others:
        raise ActionRefused(sentence)


@transaction.atomic
def member_leave(*, member: CampaignMember, ip: str | None = None) -> CampaignMember:
    """CAM-6: a member leaves the team on their own, unless they are its last admin."""
    member = membership_lock(member)
    refuse_last_admin(
        member, _("You are the team's only admin: make someone else an admin before leaving.")
    )
    set_status(member, "leave")
    senders_delete(member)
    audit(org=member.org, actor=member, action="campaigns.member_left", member=member, ip=ip)
    return member


@transaction.atomic
def member_change_role(
    *,
    org: Organization,
    actor: CampaignMember,
    member: CampaignMember,
    role: CampaignRole,
    ip: str | None = None,
) -> CampaignMember:
    """CAM-1: an admin changes a member's role; the team keeps at least one admin."""
    require_admin(org, actor, member)
    role = role_of(org, role)
    member = membership_lock(member)
    if not role.is_admin:
        refuse_last_admin(
            member,
            _("%(email)s is the team's only admin: make someone else an admin first.")
            % {"email": member.email},
        )
    before = member.role.name
    member.role = role
    member.save(update_fields=["role"])
    audit(
        org=org,
        actor=actor,
        action="campaigns.member_role_changed",
        member=member,
        ip=ip,
        before=before,
    )
    return member


def members_expire(*, now=None, batch: int = 500) -> int:
    """CAM-3: Invited members whose invitation is past its validity become Expired (a beat
    task, across every org). Each row is re-read under its lock before it changes."""
    now = now or timezone.now()
    with scopes_disabled():
        due = list(
            CampaignMember.objects.filter(
                status=Status.INVITED, invitation__expires_at__lte=now
            ).values_list("pk", flat=True)[:batch]
        )
    expired = 0
    for pk in due:
        expired += member_expire_one(pk=pk, now=now)
    return expired


@transaction.atomic
def member_expire_one(*, pk: int, now) -> bool:
    with scopes_disabled():
        member = (
            CampaignMember.objects.select_for_update()
            .filter(pk=pk, status=Status.INVITED, invitation__expires_at__lte=now)
            .select_related("org", "role")
            .first()
        )
        if member is None:
            return False
        with scope(org=member.org):
            set_status(member, "expire")
            audit(org=member.org, actor=None, action="campaigns.member_expired", member=member)
    return True


@transaction.atomic
def address_unblock(*, email: str, operator: str, org: Organization | None = None) -> int:
    """CAM-4: the operator lifts the block of one address (in one org, or in every org): its
    history of sends and declines starts again, and the member's copy of it. Audited in each
    org it touched; returns how many orgs that was."""
    email = clean_address(email)
    with scopes_disabled():
        histories = CampaignAddress.objects.select_for_update().filter(email=email)
        if org is not None:
            histories = histories.filter(org=org)
        histories = list(histories.filter(Q(sends__gt=0) | Q(declines__gt=0)).select_related("org"))
        for history in histories:
            before = {"sends": history.sends, "declines": history.declines}
            history.sends = history.declines = 0
            history.save(update_fields=["sends", "declines", "updated_at"])
            CampaignMember.objects.filter(org=history.org, email__iexact=email).update(
                send_count=0, decline_count=0
            )
            audit_log_write(
                org=history.org,
                actor=None,
                action="campaigns.address_unblocked",
                details={"email": email, "operator": operator, **before},
            )
    return len(histories)


def clean_role(org: Organization, name: str, allowed, *, role: CampaignRole | None = None):
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ActionRefused(_("Give the role a name of at most 80 characters."), field="name")
    unknown = set(allowed) - set(permissions.ALL)
    if unknown:
        raise ActionRefused(_("Choose permissions from the list."), field="permissions")
    taken = CampaignRole.objects.filter(org=org, name__iexact=name)
    if role is not None:
        taken = taken.exclude(pk=role.pk)
    if taken.exists():
        raise ActionRefused(_("A role with this name already exists."), field="name")
    return name, sorted(set(allowed))


@transaction.atomic
def campaign_role_create(
    *, org: Organization, actor: CampaignMember, name: str, allowed, ip: str | None = None
) -> CampaignRole:
    """CAM-1: a custom role with the chosen permissions."""
    require_admin(org, actor)
    campaign_roles_ensure(org=org)
    name, allowed = clean_role(org, name, allowed)
    role = CampaignRole.objects.create(org=org, name=name, permissions=allowed)
    audit_log_write(
        org=org,
        actor=CrmUser.objects.filter(org=org, user_id=actor.user_id).first(),
        action="campaigns.role_created",
        ip=ip,
        details={"name": name, "permissions": allowed},
    )
    return role


@transaction.atomic
def campaign_role_delete(
    *, org: Organization, actor: CampaignMember, role: CampaignRole, ip: str | None = None
) -> None:
    """CAM-1: a custom role no member holds; built-in roles stay."""
    require_admin(org, actor)
    if role.org_id != org.pk:
        raise PermissionDenied
    if role.builtin:
        raise ActionRefused(_("Built-in roles can't be deleted."))
    if CampaignMember.objects.filter(org=org, role=role).exists():
        raise ActionRefused(_("Members still hold this role: give them another role first."))
    name = role.name
    role.delete()
    audit_log_write(
        org=org,
        actor=CrmUser.objects.filter(org=org, user_id=actor.user_id).first(),
        action="campaigns.role_deleted",
        ip=ip,
        details={"name": name},
    )
