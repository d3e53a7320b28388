"""Writes for organisations and CRM users (ORG, USR). Every function validates before it
writes, runs in one transaction, and writes the audit entry (USR-9)."""

import secrets
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_scopes import scopes_disabled

from crm_portal.exceptions import ActionRefused

from . import permissions
from .models import AuditLogEntry, CrmUser, Organization, Profile, Role, Territory, User

OCCUPIES_LICENCE = (CrmUser.Status.ACTIVE, CrmUser.Status.UNCONFIRMED)


# --- organisations ---------------------------------------------------------------------------


def _unique_org_slug(name: str) -> str:
    base = slugify(name)[:50].strip("-") or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def organization_defaults_create(*, org: Organization) -> tuple[Profile, Role]:
    """Built-in profiles (USR-1) and the CEO → Manager roles (USR-2, IMP-3) of a new org."""
    with scopes_disabled():
        admin = Profile.objects.create(
            org=org,
            name="Administrator",
            builtin=Profile.ADMINISTRATOR,
            permissions=sorted(permissions.ALL_CODES),
        )
        Profile.objects.create(
            org=org,
            name="Standard",
            builtin=Profile.STANDARD,
            permissions=permissions.STANDARD_PERMISSIONS,
        )
        ceo = Role.objects.create(org=org, name="CEO")
        Role.objects.create(org=org, name="Manager", parent=ceo)
    return admin, ceo


@transaction.atomic
def organization_create(
    *, name: str, owner: User, first_name: str = "", last_name: str = ""
) -> Organization:
    """Create an org with `owner` as its active super admin (ORG-1). It starts unverified."""
    org = Organization.objects.create(name=name.strip(), slug=_unique_org_slug(name))
    admin_profile, top_role = organization_defaults_create(org=org)
    with scopes_disabled():
        CrmUser.objects.create(
            org=org,
            user=owner,
            email=owner.email,
            first_name=first_name.strip(),
            last_name=last_name.strip() or owner.email.split("@")[0],
            status=CrmUser.Status.ACTIVE,
            is_super_admin=True,
            profile=admin_profile,
            role=top_role,
            language=owner.language or "en",
        )
    return org


def organizations_verify_for_email(*, user: User, email: str) -> list[Organization]:
    """Mark every unverified org whose super admin is `user` as verified (ORG-2).
    Only the address the account signed up with counts."""
    if email.lower() != user.email.lower():
        return []
    with scopes_disabled():
        orgs = list(
            Organization.objects.filter(
                verified_at__isnull=True, crm_users__user=user, crm_users__is_super_admin=True
            )
        )
    Organization.objects.filter(pk__in=[o.pk for o in orgs]).update(verified_at=timezone.now())
    return orgs


# --- audit and checks ------------------------------------------------------------------------


def audit_entry(
    *,
    org,
    actor: CrmUser | None,
    action: str,
    target: CrmUser | None = None,
    details: dict | None = None,
    ip: str | None = None,
) -> AuditLogEntry:
    """An unsaved audit entry (USR-9): saved alone by audit_log_write, or in bulk."""
    return AuditLogEntry(
        org=org,
        actor=actor,
        actor_label=(f"{actor} <{actor.email}>" if actor else "system"),
        action=action,
        target=target,
        target_label=(f"{target} <{target.email}>" if target else ""),
        details=details or {},
        ip_address=ip,
    )


def audit_log_write(**kwargs) -> AuditLogEntry:
    entry = audit_entry(**kwargs)
    entry.save()
    return entry


def require_permission(actor: CrmUser, permission: str) -> None:
    if actor is None or not actor.can(permission):
        raise PermissionDenied


def licences_used(org: Organization) -> int:
    return CrmUser.objects.filter(org=org, status__in=OCCUPIES_LICENCE).count()


def _require_free_licence(org: Organization) -> None:
    used, limit = licences_used(org), org.licence_limit
    if used >= limit:
        raise ActionRefused(
            _(
                "No licence left: %(used)s of %(limit)s in use. Deactivate a user or buy more "
                "licences."
            )
            % {"used": used, "limit": limit}
        )


def _lock_org(org: Organization) -> Organization:
    """Serialise licence-counting writes of one org."""
    return Organization.objects.select_for_update().get(pk=org.pk)


def active_admins(org: Organization):
    return CrmUser.objects.filter(org=org, status=CrmUser.Status.ACTIVE).filter(
        Q(is_super_admin=True) | Q(profile__builtin=Profile.ADMINISTRATOR)
    )


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


def _check_belongs(org, *objects) -> None:
    for obj in objects:
        if obj is not None and obj.org_id != org.pk:
            raise PermissionDenied


# --- CRM users -------------------------------------------------------------------------------


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
    _check_belongs(org, role, profile, *territories)
    org = _lock_org(org)
    email = email.strip().lower()
    if CrmUser.objects.filter(org=org, email__iexact=email).exists():
        raise ActionRefused(
            _("%(email)s is already a user of this organisation.") % {"email": email},
            field="email",
        )
    _require_free_licence(org)
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
    _check_belongs(org, *memberships)
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
    _check_belongs(org, membership, role, profile, *territories)
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
    from . import preferences

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
    from django.core.exceptions import ValidationError

    _check_belongs(org, membership)
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
    from allauth.usersessions.models import UserSession

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
    _check_belongs(org, membership)
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
    from invitations.services import other_active_membership

    require_permission(actor, permissions.MANAGE_USERS)
    _check_belongs(org, membership)
    if membership.status != CrmUser.Status.DEACTIVATED:
        raise ActionRefused(_("%(name)s is not deactivated.") % {"name": membership})
    org = _lock_org(org)
    _require_free_licence(org)
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
    _check_belongs(org, membership)
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
    _check_belongs(org, to)
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


# --- profiles, roles, territories (USR-1, USR-2, USR-8) --------------------------------------


def _clean_permissions(codes: Iterable[str]) -> list[str]:
    unknown = set(codes) - permissions.ALL_CODES
    if unknown:
        raise ActionRefused(
            _("Unknown permission: %(codes)s") % {"codes": ", ".join(sorted(unknown))},
            field="permissions",
        )
    return sorted(set(codes))


def _require_unique_name(model, org, name: str, exclude_pk=None) -> str:
    name = name.strip()
    if not name:
        raise ActionRefused(_("Enter a name."), field="name")
    clash = model.objects.filter(org=org, name__iexact=name).exclude(pk=exclude_pk)
    if clash.exists():
        raise ActionRefused(_("%(name)s exists already.") % {"name": name}, field="name")
    return name


@transaction.atomic
def profile_save(
    *,
    org: Organization,
    actor: CrmUser,
    name: str,
    description: str = "",
    permission_codes: Iterable[str] = (),
    profile: Profile | None = None,
    ip: str | None = None,
) -> Profile:
    """Create (profile=None) or change a custom profile. Built-in profiles keep their
    permissions: Administrator can do everything, by definition."""
    require_permission(actor, permissions.MANAGE_USERS)
    _check_belongs(org, profile)
    name = _require_unique_name(Profile, org, name, exclude_pk=profile.pk if profile else None)
    codes = _clean_permissions(permission_codes)
    creating = profile is None
    before = {} if creating else {"name": profile.name, "permissions": profile.permissions}
    if creating:
        profile = Profile(org=org)
    elif profile.builtin:  # built-ins keep their name and permissions
        codes, name = profile.permissions, profile.name
    profile.name, profile.description, profile.permissions = name, description.strip(), codes
    profile.save()
    audit_log_write(
        org=org,
        actor=actor,
        action="profile.created" if creating else "profile.changed",
        ip=ip,
        details={"before": before, "after": {"name": name, "permissions": codes}},
    )
    return profile


@transaction.atomic
def profile_delete(
    *, org: Organization, actor: CrmUser, profile: Profile, ip: str | None = None
) -> None:
    require_permission(actor, permissions.MANAGE_USERS)
    _check_belongs(org, profile)
    if profile.builtin:
        raise ActionRefused(_("Built-in profiles cannot be deleted."))
    if profile.members.exists():
        count = profile.members.count()
        raise ActionRefused(
            ngettext(
                "%(name)s is given to %(count)s user. Give them another profile first.",
                "%(name)s is given to %(count)s users. Give them another profile first.",
                count,
            )
            % {"name": profile, "count": count}
        )
    audit_log_write(
        org=org, actor=actor, action="profile.deleted", ip=ip, details={"profile": profile.name}
    )
    profile.delete()


def _tree_ancestors(obj) -> set[int]:
    seen, node = set(), obj
    while node is not None and node.pk not in seen:
        seen.add(node.pk)
        node = node.parent
    return seen


@transaction.atomic
def role_save(
    *,
    org: Organization,
    actor: CrmUser,
    name: str,
    parent: Role | None,
    share_with_peers: bool = False,
    role: Role | None = None,
    ip: str | None = None,
) -> Role:
    """Create or change a role. Each role reports to one parent; only the top role has none,
    and a role can't report to itself or to a role below it."""
    require_permission(actor, permissions.MANAGE_USERS)
    _check_belongs(org, role, parent)
    _lock_org(org)  # two admins re-parenting at once must not build a loop
    if role is not None:
        role = Role.objects.get(pk=role.pk)
    if parent is not None:
        parent = Role.objects.get(pk=parent.pk)
    name = _require_unique_name(Role, org, name, exclude_pk=role.pk if role else None)
    is_top = role is not None and role.parent_id is None
    if is_top and parent is not None:
        raise ActionRefused(_("The top role reports to no one."), field="parent")
    if not is_top and parent is None:
        raise ActionRefused(_("Choose the role this one reports to."), field="parent")
    if role is not None and parent is not None and role.pk in _tree_ancestors(parent):
        raise ActionRefused(
            _("A role cannot report to itself or to a role below it."), field="parent"
        )
    creating = role is None
    before = (
        {}
        if creating
        else {
            "name": role.name,
            "parent": str(role.parent or ""),
            "share_with_peers": role.share_with_peers,
        }
    )
    role = role or Role(org=org)
    role.name, role.parent, role.share_with_peers = name, parent, share_with_peers
    role.save()
    audit_log_write(
        org=org,
        actor=actor,
        action="role.created" if creating else "role.changed",
        ip=ip,
        details={
            "before": before,
            "after": {
                "name": name,
                "parent": str(parent or ""),
                "share_with_peers": share_with_peers,
            },
        },
    )
    return role


@transaction.atomic
def role_delete(*, org: Organization, actor: CrmUser, role: Role, ip: str | None = None) -> None:
    require_permission(actor, permissions.MANAGE_USERS)
    _check_belongs(org, role)
    if role.parent_id is None:
        raise ActionRefused(_("The top role cannot be deleted."))
    if role.children.exists():
        raise ActionRefused(
            _("Move or delete the roles that report to %(name)s first.") % {"name": role}
        )
    if role.members.exists():
        raise ActionRefused(_("Give the users in %(name)s another role first.") % {"name": role})
    audit_log_write(org=org, actor=actor, action="role.deleted", ip=ip, details={"role": role.name})
    role.delete()


@transaction.atomic
def territories_enable(
    *, org: Organization, actor: CrmUser, enabled: bool, ip: str | None = None
) -> Organization:
    require_permission(actor, permissions.MANAGE_USERS)
    org.territories_enabled = enabled
    org.save(update_fields=["territories_enabled"])
    audit_log_write(
        org=org,
        actor=actor,
        action="territories.enabled" if enabled else "territories.disabled",
        ip=ip,
    )
    return org


@transaction.atomic
def territory_save(
    *,
    org: Organization,
    actor: CrmUser,
    name: str,
    parent: Territory | None,
    territory: Territory | None = None,
    ip: str | None = None,
) -> Territory:
    require_permission(actor, permissions.MANAGE_USERS)
    _check_belongs(org, territory, parent)
    _lock_org(org)
    if territory is not None:
        territory = Territory.objects.get(pk=territory.pk)
    if parent is not None:
        parent = Territory.objects.get(pk=parent.pk)
    name = _require_unique_name(
        Territory, org, name, exclude_pk=territory.pk if territory else None
    )
    if territory is not None and parent is not None and territory.pk in _tree_ancestors(parent):
        raise ActionRefused(
            _("A territory cannot sit inside itself or inside one of its own territories."),
            field="parent",
        )
    creating = territory is None
    before = {} if creating else {"name": territory.name, "parent": str(territory.parent or "")}
    territory = territory or Territory(org=org)
    territory.name, territory.parent = name, parent
    territory.save()
    audit_log_write(
        org=org,
        actor=actor,
        action="territory.created" if creating else "territory.changed",
        ip=ip,
        details={"before": before, "after": {"name": name, "parent": str(parent or "")}},
    )
    return territory


@transaction.atomic
def territory_delete(
    *, org: Organization, actor: CrmUser, territory: Territory, ip: str | None = None
) -> None:
    require_permission(actor, permissions.MANAGE_USERS)
    _check_belongs(org, territory)
    if territory.children.exists():
        raise ActionRefused(
            _("Delete or move the territories inside %(name)s first.") % {"name": territory}
        )
    audit_log_write(
        org=org,
        actor=actor,
        action="territory.deleted",
        ip=ip,
        details={"territory": territory.name, "users": territory.members.count()},
    )
    territory.delete()


# --- leaving and deleting an organisation (ORG-4) --------------------------------------------


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


def organization_export(*, org: Organization) -> bytes:
    """Everything the org holds, as JSON: the final export mailed before deletion."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    from records.models import Contact

    data = {
        "organisation": {"name": org.name, "slug": org.slug, "created_at": org.created_at},
        "users": list(
            CrmUser.objects.filter(org=org).values(
                "email",
                "first_name",
                "last_name",
                "status",
                "role__name",
                "profile__name",
                "created_at",
            )
        ),
        "profiles": list(Profile.objects.filter(org=org).values("name", "permissions")),
        "roles": list(
            Role.objects.filter(org=org).values("name", "parent__name", "share_with_peers")
        ),
        "territories": list(Territory.objects.filter(org=org).values("name", "parent__name")),
        "contacts": list(
            Contact.objects.filter(org=org).values(
                "first_name",
                "last_name",
                "email",
                "language",
                "country",
                "owner__email",
                "created_at",
                "updated_at",
            )
        ),
        "audit_log": list(
            AuditLogEntry.objects.filter(org=org).values(
                "created_at", "actor_label", "action", "target_label", "details", "ip_address"
            )
        ),
    }
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


@transaction.atomic
def organization_delete(
    *, org: Organization, actor: CrmUser, confirm_name: str, ip: str | None = None
) -> None:
    """ORG-4: the only active user deletes their org; a final export is mailed to them and
    then everything of the org is erased."""
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string
    from django.utils import translation

    from invitations.mail import mail_enqueue

    if not actor.is_super_admin:
        raise PermissionDenied
    if CrmUser.objects.filter(org=org, status=CrmUser.Status.ACTIVE).exclude(pk=actor.pk).exists():
        raise ActionRefused(
            _("Only an organisation whose only active user you are can be deleted this way.")
        )
    if confirm_name.strip() != org.name:
        raise ActionRefused(
            _("Type the organisation's name exactly as shown to confirm."), field="confirm_name"
        )
    context = {"org_name": org.name}
    with translation.override(actor.language):
        subject = render_to_string("users/email/final_export.subject.txt", context).strip()
        body = render_to_string("users/email/final_export.txt", context)
    message = EmailMessage(subject, body, to=[actor.email])
    message.attach(f"{org.slug}-export.json", organization_export(org=org), "application/json")
    mail_enqueue(message)
    org.delete()
