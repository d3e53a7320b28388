"""CRM users (USR-3 … USR-7, ORG-4): add, change access and details, deactivate, activate,
delete, leave, and the super admin transfer. Inviting them is the invitations app's, above this
one (invitations.crm_users): it composes these services with the invitation's."""

from collections.abc import Iterable

from allauth.usersessions.models import UserSession
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
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
def crm_user_create(
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
) -> CrmUser:
    """Add a CRM user, Unconfirmed (USR-3, ORG-5). Nothing is sent and nothing audited here:
    the caller invites them, then writes "user.added" saying whether the invitation went out."""
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
        language=language or org.language,  # the org's defaults for new members (ORG-7)
        time_zone=org.time_zone,
        status_changed_at=timezone.now(),
    )
    if org.territories_enabled and territories:
        membership.territories.set(territories)
    return membership


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
    if membership.date_format not in (preferences.LANGUAGE_DEFAULT, *allowed):
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
    """Every session of the account ends at once: the bumped generation makes each one fail
    its check on the next request, tracked by allauth or not; the tracked ones are removed."""
    if user is None:
        return
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
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
    """USR-7: frees a licence and ends the user's sessions at once. The users pages call
    invitations.crm_users.crm_user_deactivate_and_revoke, which also revokes a pending
    invitation (and accepting one is refused for a deactivated user anyway)."""
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
    audit_log_write(
        org=org,
        actor=actor,
        action="org.super_admin_transferred",
        target=to,
        ip=ip,
        details={"old": actor.email, "new": to.email},
    )
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
