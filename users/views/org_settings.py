"""The organisation settings page (ORG-7, X-3): one page of small sections, each posting to its
own address. Administrators change the name, address, time zone and language and the idle
timeout; the super admin alone hands on the role (ORG-1) and deletes the org (ORG-4)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip, refusal_to_form

from ..decorators import admin_required
from ..org_settings_forms import (
    IdleTimeoutForm,
    OrganizationLocaleForm,
    OrganizationNameForm,
    OrganizationSlugForm,
    SuperAdminTransferForm,
)
from ..selectors import licence_summary, super_admin_candidates
from ..services.members import super_admin_transfer
from ..services.org_settings import (
    organization_change_idle_timeout,
    organization_change_locale,
    organization_change_slug,
    organization_rename,
)


def _settings_page(request, **bound):
    """The page with every section; a section that failed shows its bound form (typed
    values and errors), the others show what is stored."""
    org = request.org
    forms = {
        "name_form": OrganizationNameForm(initial={"name": org.name}),
        "slug_form": OrganizationSlugForm(initial={"slug": org.slug}),
        "locale_form": OrganizationLocaleForm(
            initial={"time_zone": org.time_zone, "language": org.language}
        ),
        "idle_form": IdleTimeoutForm(initial={"idle_timeout_minutes": org.idle_timeout_minutes}),
        **bound,
    }
    context = {
        **forms,
        "licences": licence_summary(org),
        "super_admin": org.crm_users.filter(is_super_admin=True).first(),
        "has_candidates": super_admin_candidates(org).exists(),
    }
    return render(request, "users/settings/page.html", context)


def _save_section(request, form_class, form_key, service, done_message):
    """Validate one section's form, run its service, back to the page with a message; a
    refusal shows on the form, with what was typed."""
    form = form_class(request.POST)
    if form.is_valid():
        try:
            org, actor, ip = request.org, request.membership, client_ip(request)
            service(org=org, actor=actor, ip=ip, **form.cleaned_data)
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(request, done_message)
            return redirect("org_settings", org_slug=request.org.slug)
    return _settings_page(request, **{form_key: form})


@admin_required
@require_GET
def org_settings(request, org_slug):
    return _settings_page(request)


@admin_required
@require_POST
def org_settings_name(request, org_slug):
    return _save_section(
        request, OrganizationNameForm, "name_form", organization_rename, _("Name saved.")
    )


@admin_required
@require_POST
def org_settings_slug(request, org_slug):
    return _save_section(
        request,
        OrganizationSlugForm,
        "slug_form",
        organization_change_slug,
        _("Web address saved. Update your bookmarks: old links no longer work."),
    )


@admin_required
@require_POST
def org_settings_locale(request, org_slug):
    return _save_section(
        request,
        OrganizationLocaleForm,
        "locale_form",
        organization_change_locale,
        _("Time zone and language saved."),
    )


@admin_required
@require_POST
def org_settings_idle_timeout(request, org_slug):
    return _save_section(
        request,
        IdleTimeoutForm,
        "idle_form",
        organization_change_idle_timeout,
        _("Idle session timeout saved."),
    )


@require_http_methods(["GET", "POST"])
def org_super_admin_transfer(request, org_slug):
    """ORG-1: the super admin picks another active administrator and confirms."""
    if not request.membership.is_super_admin:
        raise PermissionDenied
    form = SuperAdminTransferForm(
        request.POST or None, org=request.org, initial={"to": request.GET.get("to", "")}
    )
    if request.method == "POST" and form.is_valid():
        successor = form.cleaned_data["to"]
        try:
            super_admin_transfer(
                org=request.org, actor=request.membership, to=successor, ip=client_ip(request)
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(request, _("%(name)s is now the super admin.") % {"name": successor})
            return redirect("org_settings", org_slug=request.org.slug)
    return render(request, "users/settings/super_admin_transfer.html", {"form": form})
