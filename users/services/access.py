"""Profiles, roles and territories (USR-1, USR-2, USR-8)."""

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm_portal.exceptions import ActionRefused

from .. import permissions
from ..audit import audit_log_write
from ..models import CrmUser, Organization, Profile, Role, Territory
from ..permissions import require_permission, require_same_org
from .organizations import organization_lock


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
    require_same_org(org, profile)
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
    require_same_org(org, profile)
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
    require_same_org(org, role, parent)
    organization_lock(org)  # two admins re-parenting at once must not build a loop
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
    require_same_org(org, role)
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
    require_same_org(org, territory, parent)
    organization_lock(org)
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
    require_same_org(org, territory)
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
