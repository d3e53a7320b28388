"""Profiles, roles and territories: what users may do, which records they see, and where they
work (USR-1, USR-2, USR-8). Every change goes through a service that writes the audit entry
(USR-9)."""

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_portal.exceptions import ActionRefused

from .. import permissions, services
from ..access_forms import ProfileForm, RoleForm, TerritoriesSwitchForm, TerritoryForm
from ..decorators import client_ip, permission_required, refusal_to_form
from ..models import CrmUser

manage_users = permission_required(permissions.MANAGE_USERS)


def _tree(nodes) -> list[dict]:
    """Rows with a parent_id as nested {"node", "children"} dicts, keeping their order."""
    children: dict[int | None, list] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)

    def below(parent_id):
        return [{"node": n, "children": below(n.pk)} for n in children.get(parent_id, [])]

    return below(None)


def _actor(request) -> dict:
    return {"org": request.org, "actor": request.membership, "ip": client_ip(request)}


def _preselected(queryset, request):
    """The row of `queryset` named by ?parent= (from an "add below" link), or None."""
    wanted = request.GET.get("parent", "")
    return queryset.filter(pk=wanted).first() if wanted.isdigit() else None


# --- profiles (USR-1) --------------------------------------------------------------------------


@manage_users
@require_GET
def profile_list(request, org_slug):
    profiles = request.org.profiles.annotate(member_count=Count("members")).order_by("name")
    return render(
        request,
        "users/access/profile_list.html",
        {
            "profiles": profiles,
            "permission_total": len(permissions.ALL_CODES),
            "section": "profiles",
        },
    )


def _profile_form(request, profile=None):
    form = ProfileForm(request.POST or None, profile=profile)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.profile_save(
                **_actor(request),
                profile=profile,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                permission_codes=form.cleaned_data["permissions"],
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            done = _("Profile %(name)s saved.") if profile else _("Profile %(name)s created.")
            messages.success(request, done % {"name": saved})
            return redirect("profile_list", org_slug=request.org.slug)
    return render(
        request,
        "users/access/profile_form.html",
        {"form": form, "profile": profile, "section": "profiles"},
    )


@manage_users
@require_http_methods(["GET", "POST"])
def profile_create(request, org_slug):
    return _profile_form(request)


@manage_users
@require_http_methods(["GET", "POST"])
def profile_edit(request, org_slug, profile_pk):
    return _profile_form(request, get_object_or_404(request.org.profiles, pk=profile_pk))


@manage_users
@require_http_methods(["GET", "POST"])
def profile_delete(request, org_slug, profile_pk):
    profiles = request.org.profiles.annotate(member_count=Count("members"))
    profile = get_object_or_404(profiles, pk=profile_pk)
    error = None
    if request.method == "POST":
        try:
            services.profile_delete(**_actor(request), profile=profile)
        except ActionRefused as refusal:
            error = refusal.message
        else:
            messages.success(request, _("Profile %(name)s deleted.") % {"name": profile})
            return redirect("profile_list", org_slug=org_slug)
    return render(
        request,
        "users/access/profile_confirm_delete.html",
        {"profile": profile, "error": error, "section": "profiles"},
    )


# --- roles (USR-2) -----------------------------------------------------------------------------


@manage_users
@require_GET
def role_list(request, org_slug):
    roles = request.org.roles.annotate(member_count=Count("members")).order_by("name")
    return render(
        request, "users/access/role_list.html", {"tree": _tree(roles), "section": "roles"}
    )


def _role_form(request, role=None):
    form = RoleForm(request.POST or None, org=request.org, role=role)
    if role is None and not form.is_bound:
        roles = request.org.roles
        parent = _preselected(roles, request) or roles.filter(parent=None).first()
        form.initial["parent"] = parent.pk if parent else None
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.role_save(
                **_actor(request),
                role=role,
                name=form.cleaned_data["name"],
                parent=form.cleaned_data.get("parent"),
                share_with_peers=form.cleaned_data["share_with_peers"],
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            done = _("Role %(name)s saved.") if role else _("Role %(name)s created.")
            messages.success(request, done % {"name": saved})
            return redirect("role_list", org_slug=request.org.slug)
    return render(
        request, "users/access/role_form.html", {"form": form, "role": role, "section": "roles"}
    )


@manage_users
@require_http_methods(["GET", "POST"])
def role_create(request, org_slug):
    return _role_form(request)


@manage_users
@require_http_methods(["GET", "POST"])
def role_edit(request, org_slug, role_pk):
    return _role_form(request, get_object_or_404(request.org.roles, pk=role_pk))


@manage_users
@require_http_methods(["GET", "POST"])
def role_delete(request, org_slug, role_pk):
    roles = request.org.roles.select_related("parent").annotate(
        member_count=Count("members", distinct=True), child_count=Count("children", distinct=True)
    )
    role = get_object_or_404(roles, pk=role_pk)
    error = None
    if request.method == "POST":
        try:
            services.role_delete(**_actor(request), role=role)
        except ActionRefused as refusal:
            error = refusal.message
        else:
            messages.success(request, _("Role %(name)s deleted.") % {"name": role})
            return redirect("role_list", org_slug=org_slug)
    return render(
        request,
        "users/access/role_confirm_delete.html",
        {"role": role, "error": error, "section": "roles"},
    )


# --- territories (USR-8) -----------------------------------------------------------------------


@manage_users
@require_GET
def territory_list(request, org_slug):
    members = CrmUser.objects.order_by("last_name", "first_name", "pk")
    territories = request.org.territories.prefetch_related(
        Prefetch("members", queryset=members)
    ).order_by("name")
    return render(
        request,
        "users/access/territory_list.html",
        {"tree": _tree(territories), "section": "territories"},
    )


@manage_users
@require_POST
def territories_toggle(request, org_slug):
    form = TerritoriesSwitchForm(request.POST)
    enabled = form.is_valid() and form.cleaned_data["enabled"]
    services.territories_enable(**_actor(request), enabled=enabled)
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


def _territory_form(request, territory=None):
    form = TerritoryForm(request.POST or None, org=request.org, territory=territory)
    if territory is None and not form.is_bound:
        parent = _preselected(request.org.territories, request)
        form.initial["parent"] = parent.pk if parent else None
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.territory_save(
                **_actor(request),
                territory=territory,
                name=form.cleaned_data["name"],
                parent=form.cleaned_data["parent"],
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            done = _("Territory %(name)s saved.") if territory else _("Territory %(name)s created.")
            messages.success(request, done % {"name": saved})
            return redirect("territory_list", org_slug=request.org.slug)
    return render(
        request,
        "users/access/territory_form.html",
        {"form": form, "territory": territory, "section": "territories"},
    )


@manage_users
@require_http_methods(["GET", "POST"])
def territory_create(request, org_slug):
    return _territory_form(request)


@manage_users
@require_http_methods(["GET", "POST"])
def territory_edit(request, org_slug, territory_pk):
    return _territory_form(request, get_object_or_404(request.org.territories, pk=territory_pk))


@manage_users
@require_http_methods(["GET", "POST"])
def territory_delete(request, org_slug, territory_pk):
    territories = request.org.territories.annotate(
        member_count=Count("members", distinct=True), child_count=Count("children", distinct=True)
    )
    territory = get_object_or_404(territories, pk=territory_pk)
    error = None
    if request.method == "POST":
        try:
            services.territory_delete(**_actor(request), territory=territory)
        except ActionRefused as refusal:
            error = refusal.message
        else:
            messages.success(request, _("Territory %(name)s deleted.") % {"name": territory})
            return redirect("territory_list", org_slug=org_slug)
    return render(
        request,
        "users/access/territory_confirm_delete.html",
        {"territory": territory, "error": error, "section": "territories"},
    )


urlpatterns = [
    path("settings/profiles/", profile_list, name="profile_list"),
    path("settings/profiles/new/", profile_create, name="profile_create"),
    path("settings/profiles/<int:profile_pk>/edit/", profile_edit, name="profile_edit"),
    path("settings/profiles/<int:profile_pk>/delete/", profile_delete, name="profile_delete"),
    path("settings/roles/", role_list, name="role_list"),
    path("settings/roles/new/", role_create, name="role_create"),
    path("settings/roles/<int:role_pk>/edit/", role_edit, name="role_edit"),
    path("settings/roles/<int:role_pk>/delete/", role_delete, name="role_delete"),
    path("settings/territories/", territory_list, name="territory_list"),
    path("settings/territories/toggle/", territories_toggle, name="territories_toggle"),
    path("settings/territories/new/", territory_create, name="territory_create"),
    path("settings/territories/<int:territory_pk>/edit/", territory_edit, name="territory_edit"),
    path(
        "settings/territories/<int:territory_pk>/delete/", territory_delete, name="territory_delete"
    ),
]
