import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Q
from django.utils.module_loading import import_string
from django_scopes import scopes_disabled

from crm_portal.search import CRM_USER_SEARCH_FIELDS, contains_any, order_for_search

from .models import (
    AuditLogEntry,
    CrmUser,
    Organization,
    Profile,
    Role,
    Territory,
    User,
    UserImport,
)

OCCUPIES_LICENCE = (CrmUser.Status.ACTIVE, CrmUser.Status.UNCONFIRMED)


def active_membership_for(*, user: User, org_slug: str) -> CrmUser | None:
    """The user's active CRM membership of the org with that slug, or None."""
    if not user.is_authenticated:
        return None
    with scopes_disabled():
        return (
            CrmUser.objects.select_related("org")
            .filter(org__slug=org_slug, user=user, status=CrmUser.Status.ACTIVE)
            .first()
        )


def default_language_for(org: Organization) -> str:
    """The language new records and members of the org start with: the org's default
    language once it has one (org settings, issue 11), else the site's."""
    return getattr(org, "language", "") or settings.LANGUAGE_CODE


def organizations_of(*, user: User) -> list[Organization]:
    """Orgs where the user is an active member: what the org switcher lists."""
    if not user.is_authenticated:
        return []
    with scopes_disabled():
        return list(
            Organization.objects.filter(
                crm_users__user=user, crm_users__status=CrmUser.Status.ACTIVE
            ).order_by("name")
        )


def role_descendants(role: Role) -> set[int]:
    """Ids of every role below `role` in its org's tree (not the role itself)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Role.objects.filter(org_id=role.org_id).values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found, stack = set(), list(children.get(role.pk, []))
    while stack:
        pk = stack.pop()
        if pk not in found:
            found.add(pk)
            stack.extend(children.get(pk, []))
    return found


def visible_owner_filter(*, membership: CrmUser, owner_field: str = "owner") -> Q | None:
    """USR-2 as a filter on a record queryset's owner: None means "everything" (admins).
    A user sees their own records, those owned by users in roles below theirs, and — when
    their role shares data with peers — those of users in the same role."""
    if membership.is_admin:
        return None
    condition = Q(**{f"{owner_field}": membership})
    if membership.role_id:
        roles = role_descendants(membership.role)
        if membership.role.share_with_peers:
            roles.add(membership.role_id)
        # On the owner's id, not through a join: the record lists' indexes carry owner_id,
        # so a page of a member's records is read from the index (REC-2).
        owners = CrmUser._base_manager.filter(org_id=membership.org_id, role_id__in=roles)
        condition |= Q(**{f"{owner_field}_id__in": owners.values("pk")})
    return condition


def users_list(*, org: Organization, status: str | None = None, query: str = ""):
    users = CrmUser.objects.filter(org=org).select_related("profile", "role", "invitation")
    if status:
        users = users.filter(status=status)
    if query:
        # Served by the trigram indexes of users/0005_search_trigram on PostgreSQL (issue 21).
        users = users.filter(contains_any(CRM_USER_SEARCH_FIELDS, query))
    return users.order_by(*order_for_search(("last_name", "first_name", "pk"), query))


def audit_entries(
    *,
    org: Organization,
    action: str = "",
    actor: CrmUser | None = None,
    target: str = "",
    date_from=None,
    date_to=None,
):
    """The org's audit log, newest first, narrowed by the given filters (USR-9). Days are
    the viewer's days: their time zone is active during the request."""
    entries = AuditLogEntry.objects.filter(org=org)
    if action:
        entries = entries.filter(action=action)
    if actor:
        entries = entries.filter(actor=actor)
    if target:
        entries = entries.filter(target_label__icontains=target)
    if date_from:
        entries = entries.filter(created_at__date__gte=date_from)
    if date_to:
        entries = entries.filter(created_at__date__lte=date_to)
    return entries.order_by("-created_at", "-pk")


def licences_used(org: Organization) -> int:
    return CrmUser.objects.filter(org=org, status__in=OCCUPIES_LICENCE).count()


def dashboard_people(*, org: Organization) -> dict:
    """What the admin's dashboard says of the org's people (ORG-5): licences used and free,
    and invitations not yet accepted. Two queries."""
    counts = CrmUser.objects.filter(org=org).aggregate(
        used=Count("pk", filter=Q(status__in=OCCUPIES_LICENCE)),
        pending=Count("pk", filter=Q(status=CrmUser.Status.UNCONFIRMED)),
    )
    return {
        "licences_used": counts["used"],
        "licence_limit": org.licence_limit,
        "licences_free": max(0, org.licence_limit - counts["used"]),
        "pending_invitations": counts["pending"],
    }


def recent_user_imports(*, org: Organization, limit: int = 3) -> list[UserImport]:
    return list(
        UserImport.objects.filter(org=org)
        .select_related("created_by")
        .order_by("-created_at")[:limit]
    )


def recent_audit_entries(*, org: Organization, limit: int = 5) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(org=org).order_by("-created_at", "-pk")[:limit])


def licence_summary(org: Organization) -> dict:
    """ORG-5's figures for "2 of 3 used · 1 free"."""
    used, limit = licences_used(org), org.licence_limit
    return {"used": used, "limit": limit, "free": max(0, limit - used)}


def super_admin_candidates(org: Organization):
    """Who may become super admin (ORG-1): active members with the Administrator profile,
    other than the super admin."""
    return (
        CrmUser.objects.filter(
            org=org, status=CrmUser.Status.ACTIVE, profile__builtin=Profile.ADMINISTRATOR
        )
        .exclude(is_super_admin=True)
        .order_by("last_name", "first_name", "pk")
    )


def active_admins(org: Organization):
    return CrmUser.objects.filter(org=org, status=CrmUser.Status.ACTIVE).filter(
        Q(is_super_admin=True) | Q(profile__builtin=Profile.ADMINISTRATOR)
    )


def other_active_membership(*, user: User, org: Organization) -> CrmUser | None:
    """ORG-4: the user's active CRM membership of another org, if any."""
    with scopes_disabled():
        return (
            CrmUser.objects.select_related("org")
            .filter(user=user, status=CrmUser.Status.ACTIVE)
            .exclude(org=org)
            .first()
        )


def organization_export(*, org: Organization) -> bytes:
    """Everything the org holds, as JSON: the final export mailed before deletion (ORG-4).
    Each app adds its part through ORGANIZATION_EXPORT_SECTIONS, so this app needs to know
    none of the apps above it."""
    data = {}
    for path in settings.ORGANIZATION_EXPORT_SECTIONS:
        data.update(import_string(path)(org=org))
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def export_people(*, org: Organization) -> dict:
    return {
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
    }


def export_audit_log(*, org: Organization) -> dict:
    return {
        "audit_log": list(
            AuditLogEntry.objects.filter(org=org).values(
                "created_at", "actor_label", "action", "target_label", "details", "ip_address"
            )
        )
    }
