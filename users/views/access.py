"""Profiles, roles and territories: what users may do, which records they see, and where they
work (USR-1, USR-2, USR-8). Every change goes through a service that writes the audit entry
(USR-9). The three share their list, form and delete pages (access_pages.py); what follows is
what each does its own way, and its views, each guarded and calling the shared page."""

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_portal.params import int_param

from .. import permissions
from ..decorators import permission_required
from ..forms import ProfileForm, RoleForm, TerritoriesSwitchForm, TerritoryForm
from ..models import CrmUser
from ..services import access as access_services
from .access_pages import AccessObjectPages, actor_arguments

manage_users = permission_required(permissions.MANAGE_USERS)


def _tree(nodes) -> list[dict]:
    """Rows with a parent_id as nested {"node", "children"} dicts, keeping their order."""
    children: dict[int | None, list] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)

    def below(parent_id):
        return [{"node": n, "children": below(n.pk)} for n in children.get(parent_id, [])]

    return below(None)


def _preselected(queryset, request):
    """The row of `queryset` named by ?parent= (from an "add below" link), or None."""
    wanted = int_param(request.GET, "parent")
    return queryset.filter(pk=wanted).first() if wanted else None


def _with_member_and_child_counts(rows):
    return rows.annotate(
        member_count=Count("members", distinct=True), child_count=Count("children", distinct=True)
    )


# --- profiles (USR-1) --------------------------------------------------------------------------


def _profile_list_context(request) -> dict:
    profiles = request.org.profiles.annotate(member_count=Count("members")).order_by("name")
    return {"profiles": profiles, "permission_total": len(permissions.ALL_CODES)}


PROFILES = AccessObjectPages(
    kind="profile",
    section="profiles",
    rows=lambda org: org.profiles,
    list_context=_profile_list_context,
    form=lambda data, org, profile: ProfileForm(data, profile=profile),
    save=access_services.profile_save,
    save_arguments=lambda data: {
        "name": data["name"],
        "description": data["description"],
        "permission_codes": data["permissions"],
    },
    delete=access_services.profile_delete,
    rows_to_delete=lambda rows: rows.annotate(member_count=Count("members")),
    created=gettext_lazy("Profile %(name)s created."),
    saved=gettext_lazy("Profile %(name)s saved."),
    deleted=gettext_lazy("Profile %(name)s deleted."),
)


@manage_users
@require_GET
def profile_list(request, org_slug):
    return PROFILES.list_page(request)


@manage_users
@require_http_methods(["GET", "POST"])
def profile_create(request, org_slug):
    return PROFILES.create_page(request)


@manage_users
@require_http_methods(["GET", "POST"])
def profile_edit(request, org_slug, profile_pk):
    return PROFILES.edit_page(request, profile_pk)


@manage_users
@require_http_methods(["GET", "POST"])
def profile_delete(request, org_slug, profile_pk):
    return PROFILES.delete_page(request, profile_pk)


# --- roles (USR-2) -----------------------------------------------------------------------------


def _role_list_context(request) -> dict:
    roles = request.org.roles.annotate(member_count=Count("members")).order_by("name")
    return {"tree": _tree(roles)}


def _role_initial_parent(request):
    """The role of an "add role below" link, else the top role: every role but it has a parent."""
    roles = request.org.roles
    return _preselected(roles, request) or roles.filter(parent=None).first()


ROLES = AccessObjectPages(
    kind="role",
    section="roles",
    rows=lambda org: org.roles,
    list_context=_role_list_context,
    form=lambda data, org, role: RoleForm(data, org=org, role=role),
    initial_parent=_role_initial_parent,
    save=access_services.role_save,
    save_arguments=lambda data: {
        "name": data["name"],
        "parent": data.get("parent"),  # the top role's form has no parent field
        "share_with_peers": data["share_with_peers"],
    },
    delete=access_services.role_delete,
    rows_to_delete=lambda rows: _with_member_and_child_counts(rows.select_related("parent")),
    created=gettext_lazy("Role %(name)s created."),
    saved=gettext_lazy("Role %(name)s saved."),
    deleted=gettext_lazy("Role %(name)s deleted."),
)


@manage_users
@require_GET
def role_list(request, org_slug):
    return ROLES.list_page(request)


@manage_users
@require_http_methods(["GET", "POST"])
def role_create(request, org_slug):
    return ROLES.create_page(request)


@manage_users
@require_http_methods(["GET", "POST"])
def role_edit(request, org_slug, role_pk):
    return ROLES.edit_page(request, role_pk)


@manage_users
@require_http_methods(["GET", "POST"])
def role_delete(request, org_slug, role_pk):
    return ROLES.delete_page(request, role_pk)


# --- territories (USR-8) -----------------------------------------------------------------------


def _territory_list_context(request) -> dict:
    members = CrmUser.objects.order_by("last_name", "first_name", "pk")
    territories = request.org.territories.prefetch_related(
        Prefetch("members", queryset=members)
    ).order_by("name")
    return {"tree": _tree(territories)}


TERRITORIES = AccessObjectPages(
    kind="territory",
    section="territories",
    rows=lambda org: org.territories,
    list_context=_territory_list_context,
    form=lambda data, org, territory: TerritoryForm(data, org=org, territory=territory),
    initial_parent=lambda request: _preselected(request.org.territories, request),
    save=access_services.territory_save,
    save_arguments=lambda data: {"name": data["name"], "parent": data["parent"]},
    delete=access_services.territory_delete,
    rows_to_delete=_with_member_and_child_counts,
    created=gettext_lazy("Territory %(name)s created."),
    saved=gettext_lazy("Territory %(name)s saved."),
    deleted=gettext_lazy("Territory %(name)s deleted."),
)


@manage_users
@require_GET
def territory_list(request, org_slug):
    return TERRITORIES.list_page(request)


@manage_users
@require_http_methods(["GET", "POST"])
def territory_create(request, org_slug):
    return TERRITORIES.create_page(request)


@manage_users
@require_http_methods(["GET", "POST"])
def territory_edit(request, org_slug, territory_pk):
    return TERRITORIES.edit_page(request, territory_pk)


@manage_users
@require_http_methods(["GET", "POST"])
def territory_delete(request, org_slug, territory_pk):
    return TERRITORIES.delete_page(request, territory_pk)


@manage_users
@require_POST
def territories_toggle(request, org_slug):
    form = TerritoriesSwitchForm(request.POST)
    enabled = form.is_valid() and form.cleaned_data["enabled"]
    access_services.territories_enable(**actor_arguments(request), enabled=enabled)
    if enabled:
        messages.success(request, _("Territories are on. Assign users to them on their pages."))
    else:
        messages.success(
            request,
            _(
                "Territories are off. Your territories and assignments are kept for when you turn "
                "them on again."
            ),
        )
    return redirect("territory_list", org_slug=org_slug)
