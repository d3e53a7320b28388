"""CRM users (USR-3 … USR-7, ORG-4): add, re-invite, change access and details, deactivate,
activate, delete, leave, and the super admin transfer."""

from collections.abc import Iterable

from allauth.usersessions.models import UserSession
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused

from .. import permissions, preferences
from ..audit import audit_log_write
from ..models import CrmUser, Organization, Profile, Role, Territory, User
from ..permissions import require_permission, require_same_org
from ..selectors import active_admins, other_active_membership
from .licences import licence_require_free
from .organizations import organization_lock


def _require_other_admin(org: Organization, membership: CrmUser) -> None:
    """USR-1: the org always keeps at least one active administrator."""
    if membership.is_admin and not active_admins(org).exclude(pk=membership.pk).exists():
        raise ActionRefused(
            _(
                "%(name)s is the last active administrator. Make someone else an administrator "
                "first."
            )
            % {"name": membership}
        )


@transaction.atomic
def crm_user_add(
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
    from invitations.services import invitation_for_crm_user, invitation_send

    require_permission(actor, permissions.MANAGE_USERS)
    territories = list(territories)
    require_same_org(org, role, profile, *territories)
    org = organization_lock(org)
    email = email.strip().lower()
    if CrmUser.objects.filter(org=org, email__iexact=email).exists():
        raise ActionRefused(
            _("%(email)s is already a user of this organisation.") % {"email": email},
            field="email",
        )
    licence_require_free(org)
    membership = CrmUser.objects.create(
        org=org,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=role,
        profile=profile,
        status=CrmUser.Status.UNCONFIRMED,
        language=language or actor.language,
        status_changed_at=timezone.now(),
    )
    if org.territories_enabled and territories:
        membership.territories.set(territories)
    invitation = invitation_for_crm_user(membership=membership, actor=actor)
    sent = invitation_send(invitation=invitation, actor=actor)
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
    from invitations.services import invitation_for_crm_user, invitation_send

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
        invitation = invitation_for_crm_user(membership=membership, actor=actor)
        sent += invitation_send(invitation=invitation, actor=actor)
        audit_log_write(org=org, actor=actor, action="user.reinvited", target=membership, ip=ip)
    return sent


@transaction.atomic
def invitations_release_held(*, org: Organization, actor: CrmUser, ip: str | None = None) -> int:
    """After verification, send every invitation held while the org was unverified (ORG-2)."""
    from invitations.models import Invitation

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
def crm_user_change_access(
    *,
    org: Organization,
    actor: CrmUser,
    membership: CrmUser,
    role: Role,
    profile: Profile,
    territories: Iterable[Territory] = (),
    ip: str | None = None,
) -> CrmUser:
    """Change a user's role, profile and territories (USR-1, USR-2, USR-8)."""
    require_permission(actor, permissions.MANAGE_USERS)
    territories = list(territories)
    require_same_org(org, membership, role, profile, *territories)
    before = {"role": str(membership.role), "profile": str(membership.profile)}
    if membership.is_super_admin and not profile.is_administrator:
        raise ActionRefused(
            _("The super admin always has the Administrator profile."), field="profile"
        )
    if not profile.is_administrator and membership.status == CrmUser.Status.ACTIVE:
        _require_other_admin(org, membership)
    membership.role, membership.profile = role, profile
    membership.save(update_fields=["role", "profile"])
    if org.territories_enabled:
        membership.territories.set(territories)
    audit_log_write(
        org=org,
        actor=actor,
        action="user.access_changed",
        target=membership,
        ip=ip,
        details={"before": before, "after": {"role": role.name, "profile": profile.name}},
    )
    return membership


DETAIL_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "mobile",
    "website",
    "fax",
    "date_of_birth",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "language",
    "locale",
    "date_format",
    "time_format",
    "time_zone",
)


def _check_preferences(membership: CrmUser) -> None:
    """Locale, date and time formats and time zone must be ones the app knows (USR-6),
    whichever way the data came in (form, import, API)."""
    if membership.locale not in preferences.LOCALES:
        raise ActionRefused(_("Choose a country/locale from the list."), field="locale")
    allowed = [fmt for fmt, _example in preferences.date_formats_for(membership.locale)]
    if membership.date_format not in allowed:
        raise ActionRefused(
            _("This date format is not available for the chosen country/locale."),
            field="date_format",
        )
    if membership.time_format not in preferences.TIME_FORMATS:
        raise ActionRefused(_("Choose 12-hour or 24-hour time."), field="time_format")
    if not preferences.is_valid_time_zone(membership.time_zone):
        raise ActionRefused(_("Choose a time zone from the list."), field="time_zone")


@transaction.atomic
def crm_user_details_update(
    *, org: Organization, actor: CrmUser, membership: CrmUser, data: dict, ip: str | None = None
) -> CrmUser:
    """User details (USR-6): by the user themself or by a user manager. `membership` must be
    the stored state (not an instance a form has already changed): the audit entry names the
    fields that differ from it. Nothing changed, nothing written."""
    require_same_org(org, membership)
    if actor.pk != membership.pk:
        require_permission(actor, permissions.MANAGE_USERS)
    changed = {}
    for name in DETAIL_FIELDS:
        if name in data and getattr(membership, name) != data[name]:
            changed[name] = str(data[name])
            setattr(membership, name, data[name])
    if not changed:
        return membership
    _check_preferences(membership)
    try:
        membership.full_clean(exclude=["user", "profile", "role"])
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise ActionRefused(messages[0], field=field) from error
    membership.save()
    if "language" in changed and membership.user_id and actor.pk == membership.pk:
        User.objects.filter(pk=membership.user_id).update(language=membership.language)
    audit_log_write(
        org=org,
        actor=actor,
        action="user.details_changed",
        target=membership,
        ip=ip,
        details={"fields": sorted(changed)},
    )
    return membership


def _end_sessions(user: User | None) -> None:
    if user is None:
        return
    for session in UserSession.objects.filter(user=user):
        session.end()


def _refuse_self_or_super_admin(
    actor: CrmUser, membership: CrmUser, *, self_message: str, super_admin_message: str
) -> None:
    if membership.pk == actor.pk:
        raise ActionRefused(self_message)
    if membership.is_super_admin:
        raise ActionRefused(super_admin_message)


@transaction.atomic
def crm_user_deactivate(
    *, org: Organization, actor: CrmUser, membership: CrmUser, ip: str | None = None
) -> CrmUser:
    """USR-7: frees a licence and ends the user's sessions at once."""
    from invitations.models import Invitation
    from invitations.services import invitation_revoke

    require_permission(actor, permissions.MANAGE_USERS)
    require_same_org(org, membership)
    _refuse_self_or_super_admin(
        actor,
        membership,
        self_message=_("You cannot deactivate yourself."),
        super_admin_message=_(
            "The super admin cannot be deactivated. Transfer the super admin role first."
        ),
    )
    if membership.status == CrmUser.Status.DEACTIVATED:
        raise ActionRefused(_("%(name)s is already deactivated.") % {"name": membership})
    if membership.status == CrmUser.Status.ACTIVE:
        _require_other_admin(org, membership)
    membership.status = CrmUser.Status.DEACTIVATED
    membership.status_changed_at = timezone.now()
    membership.save(update_fields=["status", "status_changed_at"])
    invitation = Invitation.objects.filter(crm_user=membership).first()
    if invitation and invitation.status in (Invitation.Status.SENT, Invitation.Status.HELD):
        invitation_revoke(invitation=invitation)
    _end_sessions(membership.user)
    audit_log_write(org=org, actor=actor, action="user.deactivated", target=membership, ip=ip)
    return membership


@transaction.atomic
def crm_user_activate(
    *, org: Organization, actor: CrmUser, membership: CrmUser, ip: str | None = None
) -> CrmUser:
    """USR-7: takes a licence again. Someone who never accepted goes back to Unconfirmed."""
    require_permission(actor, permissions.MANAGE_USERS)
    require_same_org(org, membership)
    if membership.status != CrmUser.Status.DEACTIVATED:
        raise ActionRefused(_("%(name)s is not deactivated.") % {"name": membership})
    org = organization_lock(org)
    licence_require_free(org)
    if membership.user and other_active_membership(user=membership.user, org=org):
        raise ActionRefused(
            _("%(name)s is now an active user of another organisation.") % {"name": membership}
        )
    membership.status = CrmUser.Status.ACTIVE if membership.user_id else CrmUser.Status.UNCONFIRMED
    membership.status_changed_at = timezone.now()
    membership.save(update_fields=["status", "status_changed_at"])
    audit_log_write(org=org, actor=actor, action="user.activated", target=membership, ip=ip)
    return membership


@transaction.atomic
def crm_user_delete(
    *, org: Organization, actor: CrmUser, membership: CrmUser, ip: str | None = None
) -> None:
    """USR-7: removes the membership (the account stays); their records keep no owner."""
    require_permission(actor, permissions.MANAGE_USERS)
    require_same_org(org, membership)
    _refuse_self_or_super_admin(
        actor,
        membership,
        self_message=_("You cannot delete yourself."),
        super_admin_message=_(
            "The super admin cannot be deleted. Transfer the super admin role first."
        ),
    )
    if membership.status == CrmUser.Status.ACTIVE:
        _require_other_admin(org, membership)
    audit_log_write(
        org=org,
        actor=actor,
        action="user.deleted",
        target=membership,
        ip=ip,
        details={"email": membership.email},
    )
    _end_sessions(membership.user)
    membership.delete()


@transaction.atomic
def super_admin_transfer(
    *, org: Organization, actor: CrmUser, to: CrmUser, ip: str | None = None
) -> CrmUser:
    """ORG-1: the super admin hands the role to another active administrator."""
    require_same_org(org, to)
    if not actor.is_super_admin:
        raise PermissionDenied
    if to.pk == actor.pk:
        raise ActionRefused(_("You are the super admin already."))
    if to.status != CrmUser.Status.ACTIVE or not (to.profile and to.profile.is_administrator):
        raise ActionRefused(
            _("Only an active user with the Administrator profile can become super admin.")
        )
    CrmUser.objects.filter(pk=actor.pk).update(is_super_admin=False)
    CrmUser.objects.filter(pk=to.pk).update(is_super_admin=True)
    actor.is_super_admin, to.is_super_admin = False, True
    audit_log_write(org=org, actor=actor, action="super_admin.transferred", target=to, ip=ip)
    return to


@transaction.atomic
def crm_user_leave(*, org: Organization, membership: CrmUser, ip: str | None = None) -> None:
    """A user leaves an org of their own accord; the super admin transfers the role first."""
    if membership.is_super_admin:
        raise ActionRefused(
            _("Transfer the super admin role to another administrator before leaving.")
        )
    if membership.status == CrmUser.Status.ACTIVE:
        _require_other_admin(org, membership)
    audit_log_write(org=org, actor=membership, action="user.left", target=membership, ip=ip)
    membership.delete()
