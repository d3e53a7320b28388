"""A portal's Auto-invite tab (AUT-1 … AUT-4, AUT-6, AUT-11): the settings with the condition
builder (htmx re-renders the editor for each builder step; the page works as one form), on and
off, delete, and the last seven days' counts. Manage Portals only."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip, refusal_to_form
from crm_portal.params import int_param, text_param
from records.conditions import pattern_check
from records.modules import field_specs
from users import permissions
from users.decorators import permission_required

from .. import autoinvite_match as match
from .. import autoinvite_rules as rules
from .. import config
from ..forms_autoinvite import (
    RuleForm,
    draft_apply,
    draft_from_post,
    draft_from_rule,
    row_views,
)

manage_portals = permission_required(permissions.MANAGE_PORTALS)


def _actor(request) -> dict:
    return {"org": request.org, "actor": request.membership, "ip": client_ip(request)}


def _portal(request, portal_pk):
    portal = config.portal_of(request.org, portal_pk)
    if portal is None:
        raise Http404
    return portal


def _editor_context(request, portal, rule, form, draft, errors=None) -> dict:
    specs = field_specs(request.org, "contacts")
    for conditions in draft.sets():
        conditions.views = row_views(conditions, specs)
        conditions.error = (errors or {}).get(conditions.name, "")
    return {
        "portal": portal,
        "rule": rule,
        "form": form,
        "draft": draft,
        "specs": specs,
        "set_errors": errors or {},
        "tab": "autoinvite",
        "may_configure": True,
    }


def _refusal_errors(form, refusal: ActionRefused) -> dict:
    """A refusal about a condition set shows beside that set; any other on the form."""
    if refusal.field and (refusal.field == "common" or refusal.field.startswith("lang-")):
        return {refusal.field: refusal.message}
    if refusal.field == "languages":
        return {"languages": refusal.message}
    refusal_to_form(form, refusal)
    return {}


@manage_portals
@require_http_methods(["GET", "POST"])
def autoinvite_settings(request, org_slug, portal_pk):
    portal = _portal(request, portal_pk)
    rule = rules.rule_of(portal)
    groups = list(config.groups_of(portal))
    posted = request.method == "POST"
    form = RuleForm(request.POST if posted else None, portal=portal, groups=groups, rule=rule)
    draft = draft_from_post(request.POST, portal) if posted else draft_from_rule(rule, portal)
    errors = {}
    if posted and "builder" in request.POST:  # a builder step without JavaScript: no save
        draft_apply(draft, text_param(request.POST, "builder", max_length=200))
        form = RuleForm(request.POST, portal=portal, groups=groups, rule=rule)
    elif posted and form.is_valid():
        specs = field_specs(request.org, "contacts")
        try:
            rules.rule_save(**_actor(request), portal=portal, data=form.rule_input(draft, specs))
        except ActionRefused as refusal:
            errors = _refusal_errors(form, refusal)
        else:
            messages.success(request, _("Auto-invite settings saved."))
            return redirect("autoinvite_settings", org_slug=request.org.slug, portal_pk=portal.pk)
    context = _editor_context(request, portal, rule, form, draft, errors)
    context["counts"] = rules.seven_day_counts(portal, today=timezone.localdate())
    context["editing_enabled"] = bool(rule and rule.is_enabled)
    return render(
        request, "portals/autoinvite/settings.html", context, status=400 if errors else 200
    )


@manage_portals
@require_POST
def autoinvite_builder(request, org_slug, portal_pk):
    """One builder step (add or remove a row, a field or operator changed, a language moved):
    the editor again from the posted form, nothing saved."""
    portal = _portal(request, portal_pk)
    rule = rules.rule_of(portal)
    form = RuleForm(request.POST, portal=portal, groups=list(config.groups_of(portal)), rule=rule)
    draft = draft_from_post(request.POST, portal)
    draft_apply(draft, text_param(request.POST, "builder", max_length=200))
    context = _editor_context(request, portal, rule, form, draft)
    return render(request, "portals/autoinvite/_editor.html", context)


@manage_portals
@require_GET
def autoinvite_pattern(request, org_slug, portal_pk):
    """The criteria pattern checked as it is typed: an empty answer when it reads well."""
    _portal(request, portal_pk)
    name = text_param(request.GET, "set", max_length=40)
    pattern = text_param(request.GET, f"{name}-pattern", max_length=2000)
    count = int_param(request.GET, f"{name}-count", 0, minimum=0, maximum=1000) or 0
    return HttpResponse(escape(pattern_check(pattern, count) or ""))


@manage_portals
@require_POST
def autoinvite_toggle(request, org_slug, portal_pk):
    portal = _portal(request, portal_pk)
    rule = rules.rule_of(portal)
    if rule is None:
        messages.error(request, _("Save the auto-invite settings first."))
        return redirect("autoinvite_settings", org_slug=request.org.slug, portal_pk=portal.pk)
    try:
        if rule.is_enabled:
            rules.rule_disable(**_actor(request), rule=rule)
            messages.success(request, _("Auto-invite is off."))
        else:
            rules.rule_enable(**_actor(request), rule=rule)
            messages.success(request, _("Auto-invite is on for contacts saved from now on."))
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    return redirect("autoinvite_settings", org_slug=request.org.slug, portal_pk=portal.pk)


@manage_portals
@require_http_methods(["GET", "POST"])
def autoinvite_delete(request, org_slug, portal_pk):
    portal = _portal(request, portal_pk)
    rule = rules.rule_of(portal)
    if rule is None:  # nothing to delete (deleted meanwhile, or never saved)
        return redirect("autoinvite_settings", org_slug=request.org.slug, portal_pk=portal.pk)
    if request.method == "POST":
        rules.rule_delete(**_actor(request), rule=rule)
        messages.success(request, _("Auto-invite settings deleted."))
        return redirect("autoinvite_settings", org_slug=request.org.slug, portal_pk=portal.pk)
    return render(
        request,
        "portals/autoinvite/delete.html",
        {"portal": portal, "rule": rule, "tab": "autoinvite"},
    )


@manage_portals
@require_http_methods(["GET", "POST"])
def autoinvite_match(request, org_slug, portal_pk):
    """AUT-6: how many contacts match now and 20 of them; the confirm queues the run."""
    portal = _portal(request, portal_pk)
    rule = rules.rule_of(portal)
    if rule is None:
        messages.error(request, _("Save the auto-invite settings first."))
        return redirect("autoinvite_settings", org_slug=request.org.slug, portal_pk=portal.pk)
    if request.method == "POST":
        match.rule_match_now(**_actor(request), rule=rule)
        return redirect("autoinvite_match", org_slug=request.org.slug, portal_pk=portal.pk)
    progress = match.match_progress(portal)
    running = bool(progress and progress["state"] != "done")
    return render(
        request,
        "portals/autoinvite/match.html",
        {
            "portal": portal,
            "rule": rule,
            "preview": None if running else match.match_preview(rule),
            "progress": progress,
            "tab": "autoinvite",
        },
    )


@manage_portals
@require_GET
def autoinvite_match_status(request, org_slug, portal_pk):
    """The run's progress bar, polled by the page while the run lasts."""
    portal = _portal(request, portal_pk)
    return render(
        request,
        "portals/autoinvite/_match_progress.html",
        {"portal": portal, "progress": match.match_progress(portal)},
    )
