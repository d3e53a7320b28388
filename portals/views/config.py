"""A portal's settings and its user groups, in the CRM (POR-1, POR-2). Manage Portals changes
them; Manage Portal Users sees the portals read-only, to reach each portal's Users tab."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip, refusal_to_form
from crm_portal.params import int_param
from users import permissions
from users.decorators import member_passes, permission_required

from .. import config
from ..autoinvite_rules import rule_of
from ..emails import email_template_warnings
from ..forms_config import PortalForm, UserGroupForm

manage_portals = permission_required(permissions.MANAGE_PORTALS)
sees_portals = member_passes(
    lambda m: m.can(permissions.MANAGE_PORTALS) or m.can(permissions.MANAGE_PORTAL_USERS)
)
PAGE_SIZE = 50


def _actor(request) -> dict:
    return {"org": request.org, "actor": request.membership, "ip": client_ip(request)}


def _portal(request, portal_pk):
    portal = config.portal_of(request.org, portal_pk)
    if portal is None:
        raise Http404
    return portal


def _group(portal, group_pk):
    group = config.groups_of(portal).filter(pk=group_pk).first()
    if group is None:
        raise Http404
    return group


def _may_configure(request) -> bool:
    return request.membership.can(permissions.MANAGE_PORTALS)


# --- portals (POR-1) -----------------------------------------------------------------------------


@sees_portals
@require_GET
def portal_list(request, org_slug):
    page = Paginator(config.portals_of(request.org), PAGE_SIZE).get_page(
        int_param(request.GET, "page") or 1
    )
    for portal in page.object_list:
        portal.language_names = config.language_names(portal.languages)
    return render(
        request,
        "portals/config/portal_list.html",
        {"page": page, "portals": page.object_list, "may_configure": _may_configure(request)},
    )


@manage_portals
@require_http_methods(["GET", "POST"])
def portal_create(request, org_slug):
    form = PortalForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            portal = config.portal_create(**_actor(request), **form.service_arguments())
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(request, _("Portal %(name)s created.") % {"name": portal.name})
            return redirect("portal_detail", org_slug=request.org.slug, portal_pk=portal.pk)
    return render(request, "portals/config/portal_form.html", {"form": form, "portal": None})


@sees_portals
@require_GET
def portal_detail(request, org_slug, portal_pk):
    portal = _portal(request, portal_pk)
    address = request.build_absolute_uri(f"/portal/{portal.slug}/")
    return render(
        request,
        "portals/config/portal_detail.html",
        {
            "portal": portal,
            "tab": "settings",
            "address": address,
            "language_names": config.language_names(portal.languages),
            "default_language_name": (
                config.language_names([portal.default_language]) or [portal.default_language]
            )[0],
            "may_configure": _may_configure(request),
            # POR-6: offered languages whose emails have no template of their own (pemails)
            "email_template_warnings": (
                email_template_warnings(portal) if _may_configure(request) else []
            ),
            # AUT-6: a rule turned off because a field it named was deleted says so here too
            "auto_invite": rule_of(portal) if _may_configure(request) else None,
        },
    )


LOGO_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


@sees_portals
@require_GET
def portal_logo(request, org_slug, portal_pk):
    """The portal's logo, for its preview, with the type its bytes show; 204 without one
    (POR-1)."""
    portal = _portal(request, portal_pk)
    if not portal.logo:
        return HttpResponse(status=204)  # no logo to show
    try:
        handle = portal.logo.open("rb")
    except OSError:
        return HttpResponse(status=204)
    kind = config.logo_kind(handle.read(16))
    handle.seek(0)
    if kind is None:
        handle.close()
        return HttpResponse(status=204)
    response = FileResponse(handle, content_type=LOGO_TYPES[kind])
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cache-Control"] = "private, max-age=300"
    return response


@manage_portals
@require_http_methods(["GET", "POST"])
def portal_edit(request, org_slug, portal_pk):
    portal = _portal(request, portal_pk)
    form = PortalForm(request.POST or None, request.FILES or None, portal=portal)
    if request.method == "POST" and form.is_valid():
        try:
            portal = config.portal_update(
                **_actor(request), portal=portal, **form.service_arguments()
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(request, _("Portal %(name)s saved.") % {"name": portal.name})
            return redirect("portal_detail", org_slug=request.org.slug, portal_pk=portal.pk)
    return render(request, "portals/config/portal_form.html", {"form": form, "portal": portal})


@manage_portals
@require_http_methods(["GET", "POST"])
def portal_toggle(request, org_slug, portal_pk):
    """Disable or enable a portal, after a confirmation page."""
    portal = _portal(request, portal_pk)
    if request.method == "POST":
        enabled = not portal.is_enabled
        config.portal_set_enabled(**_actor(request), portal=portal, enabled=enabled)
        done = _("Portal %(name)s enabled.") if enabled else _("Portal %(name)s disabled.")
        messages.success(request, done % {"name": portal.name})
        return redirect("portal_detail", org_slug=request.org.slug, portal_pk=portal.pk)
    return render(request, "portals/config/portal_toggle.html", {"portal": portal})


@manage_portals
@require_http_methods(["GET", "POST"])
def portal_delete(request, org_slug, portal_pk):
    portal = _portal(request, portal_pk)
    if request.method == "POST":
        config.portal_delete(**_actor(request), portal=portal)
        messages.success(request, _("Portal %(name)s deleted.") % {"name": portal.name})
        return redirect("portal_list", org_slug=request.org.slug)
    return render(request, "portals/config/portal_delete.html", {"portal": portal})


# --- user groups (POR-2) -------------------------------------------------------------------------


@manage_portals
@require_GET
def usergroup_list(request, org_slug, portal_pk):
    portal = _portal(request, portal_pk)
    groups = list(config.groups_of(portal))
    labels = dict(permissions.RECORD_MODULES)
    for group in groups:
        group.module_names = [str(labels.get(m, m)) for m in group.modules]
    return render(
        request,
        "portals/config/usergroup_list.html",
        {"portal": portal, "groups": groups, "tab": "groups", "may_configure": True},
    )


def _group_form_page(request, portal, group):
    form = UserGroupForm(request.POST or None, org=request.org, portal=portal, group=group)
    if request.method == "POST" and form.is_valid():
        try:
            if group is None:
                saved = config.usergroup_create(
                    **_actor(request),
                    portal=portal,
                    name=form.cleaned_data["name"],
                    modules=form.modules(),
                )
                done = _("User group %(name)s created.")
            else:
                saved = config.usergroup_update(
                    **_actor(request),
                    group=group,
                    name=form.cleaned_data["name"],
                    modules=form.modules(),
                )
                done = _("User group %(name)s saved.")
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(request, done % {"name": saved.name})
            return redirect("usergroup_list", org_slug=request.org.slug, portal_pk=portal.pk)
    return render(
        request,
        "portals/config/usergroup_form.html",
        {"form": form, "portal": portal, "group": group, "tab": "groups", "may_configure": True},
    )


@manage_portals
@require_http_methods(["GET", "POST"])
def usergroup_create(request, org_slug, portal_pk):
    return _group_form_page(request, _portal(request, portal_pk), None)


@manage_portals
@require_http_methods(["GET", "POST"])
def usergroup_edit(request, org_slug, portal_pk, group_pk):
    portal = _portal(request, portal_pk)
    return _group_form_page(request, portal, _group(portal, group_pk))


@manage_portals
@require_http_methods(["GET", "POST"])
def usergroup_delete(request, org_slug, portal_pk, group_pk):
    portal = _portal(request, portal_pk)
    group = _group(portal, group_pk)
    error = None
    if request.method == "POST":
        try:
            config.usergroup_delete(**_actor(request), group=group)
        except ActionRefused as refusal:
            error = refusal.message
        else:
            messages.success(request, _("User group %(name)s deleted.") % {"name": group.name})
            return redirect("usergroup_list", org_slug=request.org.slug, portal_pk=portal.pk)
    return render(
        request,
        "portals/config/usergroup_delete.html",
        {"portal": portal, "group": group, "error": error, "tab": "groups"},
    )
