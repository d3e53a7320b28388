"""The Campaigns area (issue 15): thin views over campaigns_users.services. The tenant
middleware has admitted a CRM member of the org, or a member of its Campaigns team who is no
CRM user (TENANT_AREA_GUESTS, request.membership None); `team_member` then finds their place in the
org's Campaigns team (403 without one) and turns a first visit into Active (CAM-3)."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip
from crm_portal.params import choice_param, page_param

from . import permissions, retention, senders, services
from .forms import CampaignRoleForm, InviteForm, RetargetForm, RoleChoiceForm, SenderForm
from .models import CampaignMember, CampaignRole, SenderAddress
from .selectors import (
    block_reason,
    member_of,
    members_list,
    roles_of,
    seats_used,
    status_counts,
    team_limit,
)
from .statuses import IN_TEAM, Status, can

PAGE_SIZE = 50


def team_member(admin: bool = False, permission: str | None = None):
    """The view runs for a member of the org's Campaigns team (an admin when `admin`, one
    whose role allows `permission` when given), set as request.campaign_member; 403
    otherwise. The first CRM administrator of a team without an admin becomes its Standard
    Admin (services.team_start)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            member = member_of(org=request.org, user=request.user)
            if request.membership and (member is None or member.status not in IN_TEAM):
                member = services.team_start(org=request.org, crm_user=request.membership)
            if member is None or member.status not in IN_TEAM:
                raise PermissionDenied
            if member.status == Status.ASSOCIATED:
                member = services.member_first_visit(member=member)
            if admin and not member.is_admin:
                raise PermissionDenied
            if permission and not member.can(permission):
                raise PermissionDenied
            request.campaign_member = member
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _member(request, pk) -> CampaignMember:
    return get_object_or_404(CampaignMember.objects.filter(org=request.org), pk=pk)


def _to_members(request):
    return redirect("campaigns_members", org_slug=request.org.slug)


@team_member()
@require_GET
def campaigns_home(request, org_slug):
    """The Campaigns area: where an accepted invitation lands (CAM-3)."""
    me = request.campaign_member
    context = {"me": me, "can_manage_senders": me.can(permissions.MANAGE_SENDERS)}
    return render(request, "campaigns_users/home.html", context)


@team_member(admin=True)
@require_GET
def campaigns_members(request, org_slug):
    """CAM-2, CAM-3: the team, used / limit, counts by status and a status filter."""
    status = choice_param(request.GET, "status", Status.values)
    page = Paginator(members_list(org=request.org, status=status), PAGE_SIZE).get_page(
        page_param(request.GET)
    )
    counts = status_counts(request.org)
    tabs = [("", _("All"), counts["all"])] + [(v, lbl, counts[v]) for v, lbl in Status.choices]
    rows = [(m, actions_for(request.campaign_member, m)) for m in page.object_list]
    return render(
        request,
        "campaigns_users/members.html",
        {
            "page": page,
            "rows": rows,
            "tabs": tabs,
            "status": status,
            "querystring": f"status={status}" if status else "",
            "used": seats_used(request.org),
            "limit": team_limit(request.org),
        },
    )


def actions_for(me: CampaignMember, member: CampaignMember) -> list[str]:
    """What the members page offers on a row (the services decide again)."""
    if me.pk == member.pk:
        return []
    offered = ["resend", "retarget", "deactivate", "reactivate", "remove"]
    actions = [a for a in offered if can(a, member.status)]
    if member.status in IN_TEAM or member.status == Status.DEACTIVATED:
        actions.insert(0, "role")
    if "resend" in actions and block_reason(member):
        actions.remove("resend")
    return actions


@team_member(admin=True)
@require_http_methods(["GET", "POST"])
def campaigns_member_invite(request, org_slug):
    roles = services.campaign_roles_ensure(org=request.org)
    initial = {"role": roles[CampaignRole.STANDARD_USER], "language": request.org.language}
    form = InviteForm(request.POST or None, org=request.org, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.member_invite(
                org=request.org,
                actor=request.campaign_member,
                ip=client_ip(request),
                **form.cleaned_data,
            )
        except ActionRefused as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": member.email})
            return _to_members(request)
    context = {"form": form, "used": seats_used(request.org), "limit": team_limit(request.org)}
    return render(request, "campaigns_users/invite.html", context)


def _confirmed_action(request, member_pk, action, service):
    """GET asks for confirmation; POST acts, then back to the members page with the outcome."""
    member = _member(request, member_pk)
    if request.method != "POST":
        return render(request, "campaigns_users/confirm.html", {"member": member, "action": action})
    try:
        service(
            org=request.org, actor=request.campaign_member, member=member, ip=client_ip(request)
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, confirmed_sentence(action) % {"email": member.email})
    return _to_members(request)


def confirmed_sentence(action: str) -> str:
    return {
        "resend": _("The invitation was sent again to %(email)s."),
        "deactivate": _("%(email)s is deactivated."),
        "reactivate": _("%(email)s is active again."),
        "remove": _("%(email)s was removed from the team."),
    }[action]


@team_member(admin=True)
@require_http_methods(["GET", "POST"])
def campaigns_member_resend(request, org_slug, campaign_member_pk):
    return _confirmed_action(request, campaign_member_pk, "resend", services.member_resend)


@team_member(admin=True)
@require_http_methods(["GET", "POST"])
def campaigns_member_deactivate(request, org_slug, campaign_member_pk):
    return _confirmed_action(request, campaign_member_pk, "deactivate", services.member_deactivate)


@team_member(admin=True)
@require_http_methods(["GET", "POST"])
def campaigns_member_reactivate(request, org_slug, campaign_member_pk):
    return _confirmed_action(request, campaign_member_pk, "reactivate", services.member_reactivate)


@team_member(admin=True)
@require_http_methods(["GET", "POST"])
def campaigns_member_remove(request, org_slug, campaign_member_pk):
    return _confirmed_action(request, campaign_member_pk, "remove", services.member_remove)


@team_member(admin=True)
@require_http_methods(["GET", "POST"])
def campaigns_member_retarget(request, org_slug, campaign_member_pk):
    """CAM-9: the pending invitation goes to another address; the old link dies."""
    member = _member(request, campaign_member_pk)
    form = RetargetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_retarget(
                org=request.org,
                actor=request.campaign_member,
                member=member,
                email=form.cleaned_data["email"],
                ip=client_ip(request),
            )
        except ActionRefused as refusal:
            form.add_error("email" if refusal.field == "email" else None, refusal.message)
        else:
            messages.success(
                request, _("The invitation now goes to %(email)s.") % {"email": member.email}
            )
            return _to_members(request)
    return render(request, "campaigns_users/retarget.html", {"member": member, "form": form})


@team_member(admin=True)
@require_http_methods(["GET", "POST"])
def campaigns_member_role(request, org_slug, campaign_member_pk):
    """CAM-1: an admin changes a member's role; the team keeps an admin."""
    member = _member(request, campaign_member_pk)
    form = RoleChoiceForm(request.POST or None, org=request.org, initial={"role": member.role})
    if request.method == "POST" and form.is_valid():
        try:
            services.member_change_role(
                org=request.org,
                actor=request.campaign_member,
                member=member,
                role=form.cleaned_data["role"],
                ip=client_ip(request),
            )
        except ActionRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, _("Role changed for %(email)s.") % {"email": member.email})
            return _to_members(request)
    return render(request, "campaigns_users/role_change.html", {"member": member, "form": form})


@team_member()
@require_http_methods(["GET", "POST"])
def campaigns_leave(request, org_slug):
    """CAM-6: a member leaves the team, unless they are its last admin."""
    if request.method != "POST":
        return render(request, "campaigns_users/leave.html")
    try:
        services.member_leave(member=request.campaign_member, ip=client_ip(request))
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("campaigns_home", org_slug=org_slug)
    messages.success(request, _("You left the Campaigns team of %(org)s.") % {"org": request.org})
    return redirect("dashboard", org_slug=org_slug)


@team_member(admin=True)
@require_http_methods(["GET", "POST"])
def campaigns_roles(request, org_slug):
    """CAM-1: the built-in roles and the org's custom roles; a new custom role."""
    services.campaign_roles_ensure(org=request.org)
    form = CampaignRoleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_role_create(
                org=request.org,
                actor=request.campaign_member,
                name=form.cleaned_data["name"],
                allowed=form.cleaned_data["permissions"],
                ip=client_ip(request),
            )
        except ActionRefused as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
        else:
            messages.success(request, _("Role created."))
            return redirect("campaigns_roles", org_slug=org_slug)
    roles = roles_of(request.org)
    return render(request, "campaigns_users/roles.html", {"roles": roles, "form": form})


@team_member(admin=True)
@require_http_methods(["GET", "POST"])
def campaigns_role_delete(request, org_slug, campaign_role_pk):
    role = get_object_or_404(roles_of(request.org), pk=campaign_role_pk)
    if request.method != "POST":
        return render(request, "campaigns_users/role_delete.html", {"role": role})
    try:
        services.campaign_role_delete(
            org=request.org, actor=request.campaign_member, role=role, ip=client_ip(request)
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Role deleted."))
    return redirect("campaigns_roles", org_slug=org_slug)


@team_member(permission=permissions.MANAGE_SENDERS)
@require_http_methods(["GET", "POST"])
def campaigns_senders(request, org_slug):
    """CAM-7: the org's sender addresses; a new one gets a verification mail."""
    form = SenderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sender = senders.sender_add(
                org=request.org, actor=request.campaign_member, email=form.cleaned_data["email"]
            )
        except ActionRefused as refusal:
            form.add_error("email", refusal.message)
        else:
            messages.success(
                request,
                _("We sent a verification link to %(email)s.") % {"email": sender.email},
            )
            return redirect("campaigns_senders", org_slug=org_slug)
    listed = SenderAddress.objects.filter(org=request.org).select_related("added_by")
    return render(request, "campaigns_users/senders.html", {"senders": listed, "form": form})


@team_member(permission=permissions.MANAGE_SENDERS)
@require_http_methods(["GET", "POST"])
def campaigns_sender_delete(request, org_slug, sender_pk):
    sender = get_object_or_404(
        SenderAddress.objects.filter(org=request.org).select_related("added_by"), pk=sender_pk
    )
    if request.method != "POST":
        return render(request, "campaigns_users/sender_delete.html", {"sender": sender})
    try:
        senders.sender_delete(org=request.org, actor=request.campaign_member, sender=sender)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Sender address deleted."))
    return redirect("campaigns_senders", org_slug=org_slug)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sender_verify(request, token):
    """CAM-7: the verification link. GET only shows (mail scanners prefetch links); POST
    verifies. Unknown and used links get the same 404 page."""
    sender = senders.sender_lookup(token)
    if sender is None:
        return render(request, "campaigns_users/sender_invalid.html", status=404)
    if request.method == "POST":
        try:
            senders.sender_verify(token=token)
        except ActionRefused:
            return render(request, "campaigns_users/sender_invalid.html", status=404)
        return render(request, "campaigns_users/sender_verified.html", {"sender": sender})
    return render(request, "campaigns_users/sender_verify.html", {"sender": sender})


@team_member()
@require_http_methods(["GET", "POST"])
def campaigns_account_delete(request, org_slug):
    """CAM-8: a member deletes their Campaigns account; its data is kept six months."""
    if request.method != "POST":
        context = {"purge_on": timezone.now() + retention.RETENTION}
        return render(request, "campaigns_users/account_delete.html", context)
    try:
        retention.member_account_delete(member=request.campaign_member, ip=client_ip(request))
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("campaigns_home", org_slug=org_slug)
    messages.success(
        request,
        _("Your Campaigns account is deleted. Join again within six months to get it back."),
    )
    return redirect("dashboard", org_slug=org_slug)
