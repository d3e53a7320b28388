"""Running the team: the users list, adding, re-inviting, access, (de)activation and deletion
(USR-3, USR-5, USR-7, ORG-2, ORG-5). The super admin transfer (ORG-1) is on the organisation
settings page (users.views.org_settings)."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip, refusal_to_form
from crm_portal.params import (
    choice_param,
    id_list_param,
    int_param,
    page_param,
    sort_param,
    text_param,
)
from invitations.crm_users import (
    can_reinvite,
    crm_user_add_and_invite,
    crm_user_deactivate_and_revoke,
    crm_users_reinvite,
    invitations_release_held,
)
from invitations.models import Invitation
from mailoptions.backups import mailbox_backup_start

from .. import permissions
from ..decorators import permission_required
from ..forms import AccessForm, AddUserForm
from ..models import CrmUser
from ..selectors import licences_used, users_list
from ..services.members import (
    crm_user_activate,
    crm_user_change_access,
    crm_user_delete,
)

PAGE_SIZE = 25
STATUS_TABS = [
    (CrmUser.Status.ACTIVE, gettext_lazy("Active")),
    (CrmUser.Status.UNCONFIRMED, gettext_lazy("Unconfirmed users")),
    (CrmUser.Status.DEACTIVATED, gettext_lazy("Deactivated")),
]
manage_users = permission_required(permissions.MANAGE_USERS)
# ?sort= values of the users list and their ORDER BY (issue 11).
SORTS = {
    "name": ("last_name", "first_name", "pk"),
    "-name": ("-last_name", "-first_name", "-pk"),
    "email": ("email", "pk"),
    "-email": ("-email", "-pk"),
}
# "Re-invite all N matching" sends at most this many invitations in one request.
REINVITE_LIMIT = 500


def _member(request, user_pk) -> CrmUser:
    return get_object_or_404(request.org.crm_users.select_related("profile", "role"), pk=user_pk)


def _licences(org) -> dict:
    """ORG-5's label: "2 of 3 used · 1 free"."""
    used = licences_used(org)
    return {"licences_used": used, "licences_free": max(0, org.licence_limit - used)}


def _back_to(request, membership):
    return redirect("user_detail", org_slug=request.org.slug, user_pk=membership.pk)


def _listed(org, params):
    status = choice_param(params, "status", CrmUser.Status.values, default=CrmUser.Status.ACTIVE)
    query = text_param(params, "q")
    sort = sort_param(params, SORTS, default="name")
    users = users_list(org=org, status=status, query=query).order_by(*SORTS[sort])
    return users, status, query, sort


@manage_users
@require_GET
def user_list(request, org_slug):
    users, status, query, sort = _listed(request.org, request.GET)
    page = Paginator(users, PAGE_SIZE).get_page(page_param(request.GET))
    counts = dict(
        request.org.crm_users.values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    held = Invitation.objects.filter(
        org=request.org, status=Invitation.Status.HELD, crm_user__status=CrmUser.Status.UNCONFIRMED
    ).count()
    keep = request.GET.copy()
    keep.pop("page", None)
    unsorted = keep.copy()
    unsorted.pop("sort", None)
    return render(
        request,
        "users/members/list.html",
        {
            "page": page,
            "status": status,
            "query": query,
            "sort": sort,
            "sorts": SORTS,
            "querystring": keep.urlencode(),
            "unsorted_querystring": unsorted.urlencode(),
            "reinvitable": any(can_reinvite(u) for u in page.object_list),
            "bulk_limit": REINVITE_LIMIT,
            "tabs": [(value, label, counts.get(value, 0)) for value, label in STATUS_TABS],
            **_licences(request.org),
            "held_count": held,
        },
    )


@manage_users
@require_http_methods(["GET", "POST"])
def user_add(request, org_slug):
    form = AddUserForm(request.POST or None, org=request.org)
    if request.method == "POST" and form.is_valid():
        try:
            membership = crm_user_add_and_invite(
                org=request.org,
                actor=request.membership,
                ip=client_ip(request),
                **form.cleaned_data,
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            if request.org.is_verified:
                messages.success(
                    request, _("Invitation sent to %(email)s.") % {"email": membership.email}
                )
            else:
                messages.warning(
                    request,
                    _(
                        "%(name)s was added. The invitation is held until your organisation is "
                        "verified."
                    )
                    % {"name": membership},
                )
            return _back_to(request, membership)
    return render(
        request,
        "users/members/add.html",
        {"form": form, **_licences(request.org)},
    )


@manage_users
@require_GET
def user_detail(request, org_slug, user_pk):
    membership = _member(request, user_pk)
    return render(
        request,
        "users/members/detail.html",
        {
            "member": membership,
            "invitation": Invitation.objects.filter(crm_user=membership).first(),
            "territories": membership.territories.all(),
            "is_self": membership.pk == request.membership.pk,
            "panels": detail_panels(membership),
            # USR-6: the add-ons enabled for this user (the mail add-on: their mailbox).
            "mailbox": request.org.mailboxes.filter(owner=membership).first(),
        },
    )


def detail_panels(membership: CrmUser) -> list[tuple[str, dict]]:
    """What other apps show on a CRM user's page (CRM_USER_DETAIL_PANELS; issue 15 point 10):
    this app names none of them."""
    panels = (import_string(path)(membership) for path in settings.CRM_USER_DETAIL_PANELS)
    return [panel for panel in panels if panel is not None]


@manage_users
@require_http_methods(["GET", "POST"])
def user_access_edit(request, org_slug, user_pk):
    membership = _member(request, user_pk)
    initial = {
        "role": membership.role,
        "profile": membership.profile,
        "territories": membership.territories.all(),
    }
    form = AccessForm(request.POST or None, org=request.org, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            crm_user_change_access(
                org=request.org,
                actor=request.membership,
                membership=membership,
                ip=client_ip(request),
                **form.cleaned_data,
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(request, _("Access of %(name)s saved.") % {"name": membership})
            return _back_to(request, membership)
    return render(request, "users/members/access.html", {"form": form, "member": membership})


def _act(request, membership, action, done_message):
    """Run one service action; its refusal becomes an error message. Back to the user."""
    try:
        action(
            org=request.org, actor=request.membership, membership=membership, ip=client_ip(request)
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, done_message % {"name": membership})
    return _back_to(request, membership)


@manage_users
@require_POST
def user_reinvite(request, org_slug, user_pk):
    membership = _member(request, user_pk)
    try:
        sent = crm_users_reinvite(
            org=request.org,
            actor=request.membership,
            memberships=[membership],
            ip=client_ip(request),
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        if sent:
            messages.success(
                request,
                _("A new invitation was sent to %(email)s; older links no longer work.")
                % {"email": membership.email},
            )
        else:
            messages.warning(
                request, _("The invitation is held until your organisation is verified.")
            )
    return _back_to(request, membership)


def _reinvite_selection(request):
    """The users to re-invite, or why none: the ticked rows, or every user the list's filter
    matches when "all matching" was chosen — refused when the list no longer holds the number
    the person saw, or more than REINVITE_LIMIT (issue 11, USR-5)."""
    if text_param(request.POST, "all_matching") != "1":
        ids = id_list_param(request.POST.getlist("users"))
        return list(request.org.crm_users.filter(pk__in=ids)), ""
    params = QueryDict(text_param(request.POST, "query", max_length=2000))
    users = _listed(request.org, params)[0]
    seen = int_param(request.POST, "expected_count", minimum=0)
    count = users.count()
    if count > REINVITE_LIMIT:
        return [], _("At most %(limit)s users can be re-invited at once; narrow the search.") % {
            "limit": REINVITE_LIMIT
        }
    if seen != count:
        return [], _(
            "The list changed since you loaded it: %(count)s users match now, not %(seen)s. "
            "Check the list and try again."
        ) % {"count": count, "seen": seen if seen is not None else "?"}
    return list(users), ""


@manage_users
@require_POST
def users_reinvite_selected(request, org_slug):
    back = redirect(
        f"/o/{request.org.slug}/users/?"
        f"{text_param(request.POST, 'query', max_length=2000) or 'status=unconfirmed'}"
    )
    chosen, refusal = _reinvite_selection(request)
    if refusal:
        messages.error(request, refusal)
        return back
    if not chosen:
        messages.error(request, _("Select at least one user to re-invite."))
        return back
    try:
        sent = crm_users_reinvite(
            org=request.org, actor=request.membership, memberships=chosen, ip=client_ip(request)
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request,
            ngettext("%(count)s invitation sent.", "%(count)s invitations sent.", sent)
            % {"count": sent},
        )
    return back


@manage_users
@require_POST
def users_reinvite_held(request, org_slug):
    try:
        sent = invitations_release_held(
            org=request.org, actor=request.membership, ip=client_ip(request)
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request,
            ngettext("%(count)s held invitation sent.", "%(count)s held invitations sent.", sent)
            % {"count": sent},
        )
    return redirect(f"/o/{request.org.slug}/users/?status=unconfirmed")


def _confirm(request, membership, *, title, text, button, danger=True):
    return render(
        request,
        "users/members/confirm.html",
        {"member": membership, "title": title, "text": text, "button": button, "danger": danger},
    )


@manage_users
@require_http_methods(["GET", "POST"])
def user_deactivate(request, org_slug, user_pk):
    membership = _member(request, user_pk)
    mailbox = request.org.mailboxes.filter(owner=membership).select_related("owner").first()
    if request.method == "POST":
        response = _act(
            request,
            membership,
            crm_user_deactivate_and_revoke,
            _("%(name)s was deactivated and signed out everywhere."),
        )
        if mailbox is not None and request.POST.get("mail_backup"):
            _mail_backup_after_deactivation(request, mailbox)
        return response
    return render(
        request,
        "users/members/confirm.html",
        {
            "member": membership,
            "title": _("Deactivate %(name)s?") % {"name": membership},
            "text": _(
                "They are signed out at once and can no longer sign in to this organisation. "
                "Their licence becomes free. You can activate them again later."
            ),
            "button": _("Deactivate"),
            "danger": True,
            # MAIL-2, MAIL-6: the mail add-on's backup is offered in the same flow.
            "mailbox": mailbox,
        },
    )


def _mail_backup_after_deactivation(request, mailbox) -> None:
    mailbox.owner.refresh_from_db()
    if mailbox.owner.status != CrmUser.Status.DEACTIVATED:
        return
    try:
        mailbox_backup_start(mailbox=mailbox, actor=request.membership)
    except ActionRefused as refusal:
        messages.warning(request, refusal.message)
    else:
        messages.success(request, _("The backup of their mail has started."))


@manage_users
@require_POST
def user_activate(request, org_slug, user_pk):
    return _act(request, _member(request, user_pk), crm_user_activate, _("%(name)s was activated."))


@manage_users
@require_http_methods(["GET", "POST"])
def user_delete(request, org_slug, user_pk):
    membership = _member(request, user_pk)
    if request.method == "POST":
        try:
            crm_user_delete(
                org=request.org,
                actor=request.membership,
                membership=membership,
                ip=client_ip(request),
            )
        except ActionRefused as refusal:
            messages.error(request, refusal.message)
            return _back_to(request, membership)
        messages.success(request, _("%(name)s was deleted.") % {"name": membership})
        return redirect("user_list", org_slug=request.org.slug)
    return _confirm(
        request,
        membership,
        title=_("Delete %(name)s?") % {"name": membership},
        text=_(
            "They lose access to this organisation for good and their records keep no "
            "owner. Their own account is not deleted. This cannot be undone."
        ),
        button=_("Delete user"),
    )
