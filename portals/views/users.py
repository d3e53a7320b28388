"""The portal's Users tab and the "Invite to portal" actions (POR-3, POR-4, POR-8). Thin views
over portals.members: refusals come back as messages in the member's language."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_portal.exceptions import ActionRefused
from crm_portal.params import choice_param, id_list_param, int_param, page_param, text_param
from crm_portal.rows import pk_url
from invitations.models import DeliveryAttempt, Invitation
from records.selectors import contacts_visible_to
from records.views.records import contacts_bulk_selection
from users import permissions
from users.decorators import permission_required

from ..forms_users import PortalInviteForm
from ..members import (
    BULK_LIMIT,
    UNCONFIRMED,
    delivery_state,
    portal_user_counts,
    portal_users_change_group,
    portal_users_delete_unconfirmed,
    portal_users_disable,
    portal_users_enable,
    portal_users_invite_many,
    portal_users_list,
    portal_users_reinvite,
)
from ..members import portal_user_invite as invite_contact
from ..models import Portal, PortalUser, UserGroup

# 25 rows a page like every other list (issue 21: < 40 KB of HTML, p95 < 50 ms alone).
PAGE_SIZE = 25
manage_portal_users = permission_required(permissions.MANAGE_PORTAL_USERS)
BULK_ACTIONS = ("disable", "enable", "reinvite", "group", "delete")


def _portal(request, portal_pk) -> Portal:
    return get_object_or_404(Portal.objects.filter(org=request.org), pk=portal_pk)


def _ip(request):
    return request.META.get("REMOTE_ADDR")


@manage_portal_users
@require_GET
def portal_user_list(request, org_slug, portal_pk):
    """POR-4: the portal's users by status, with each pending invitation's delivery state."""
    portal = _portal(request, portal_pk)
    status = choice_param(request.GET, "status", PortalUser.Status.values)
    groups = list(UserGroup.objects.filter(portal=portal))
    group = int_param(request.GET, "group", minimum=1)
    query = text_param(request.GET, "q", max_length=100)
    users = portal_users_list(portal=portal, status=status, group=group, query=query)
    users = users.only(*SHOWN_COLUMNS)
    counts = portal_user_counts(portal)
    paginator = Paginator(users, PAGE_SIZE)
    if not group and not query:
        # The status tabs' counts already hold this total: no COUNT of its own (issue 21).
        paginator.count = counts[status or "all"]
    page = paginator.get_page(page_param(request.GET))
    params = {k: v for k, v in (("status", status), ("group", group), ("q", query)) if v}
    tabs = [("", _("All"), counts["all"])] + [
        (value, label, counts[value]) for value, label in PortalUser.Status.choices
    ]
    return render(
        request,
        "portals/users/list.html",
        {
            "portal": portal,
            "page": page,
            "rows": _rows(request, portal, page.object_list),
            "tabs": tabs,
            "status": status,
            "groups": groups,
            "group": group,
            "query": query,
            "querystring": urlencode(params),
            "filtered": bool(params),
            "unconfirmed": UNCONFIRMED,
            "languages": portal.languages,
            "bulk_limit": BULK_LIMIT,
        },
    )


# What a row reads (with delivery_state's): not the group's modules, nor the contact's or the
# invitation's other columns.
SHOWN_COLUMNS = (
    "email",
    "pending_email",
    "status",
    "language",
    "user_id",
    "created_at",
    "contact__first_name",
    "contact__last_name",
    "group__name",
    "invitation__status",
    "invitation__delivery",
    "invitation__delivery_detail",
)
# delivery_state's states: the delivery attempts' outcomes and the provider's reports, as the
# models name them, and the two that are neither.
DELIVERY_LABELS = {
    "queued": gettext_lazy("Queued: not sent yet"),
    "held": gettext_lazy("Held: organisation not verified"),
    **dict(DeliveryAttempt.Outcome.choices),
    **{value: label for value, label in Invitation.Delivery.choices if value},
}


@dataclass(frozen=True)
class PortalUserRow:
    """What a row of the Users tab shows, worked out once per page in Python: the template
    then reverses no URL and translates nothing per row (issue 21: 25 rows cost what 5 did)."""

    portal_user: PortalUser
    name: str
    select_label: str
    contact_url: str
    email_change_url: str
    mfa_reset_url: str
    status_label: str
    language_label: str
    delivery: str
    delivery_label: str
    reason: str


def _rows(request, portal, portal_users) -> list[PortalUserRow]:
    slug = request.org.slug
    contact_url = pk_url("contact_detail", "contact_pk", org_slug=slug)
    email_change_url = pk_url(
        "portal_user_email_change", "portal_user_pk", org_slug=slug, portal_pk=portal.pk
    )
    mfa_reset_url = pk_url(
        "portal_user_mfa_reset", "portal_user_pk", org_slug=slug, portal_pk=portal.pk
    )
    statuses = {value: str(label) for value, label in PortalUser.Status.choices}
    languages = {code: str(label) for code, label in settings.LANGUAGES}
    select = _("Select %(name)s")
    rows = []
    for p in portal_users:
        name = str(p.contact)
        delivery, reason = delivery_state(p)
        rows.append(
            PortalUserRow(
                portal_user=p,
                name=name,
                select_label=select % {"name": name},
                contact_url=contact_url(p.contact_id),
                email_change_url=email_change_url(p.pk),
                mfa_reset_url=mfa_reset_url(p.pk) if p.user_id else "",
                status_label=statuses.get(p.status, p.status),
                language_label=languages.get(p.language, p.language),
                delivery=delivery,
                delivery_label=str(DELIVERY_LABELS.get(delivery, "")),
                reason=reason,
            )
        )
    return rows


def _invite_one(request, *, portal, contact, group, language):
    try:
        invite_contact(
            actor=request.membership,
            portal=portal,
            contact=contact,
            group=group,
            language=language,
            ip=_ip(request),
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        return False
    messages.success(
        request,
        _("%(name)s was invited to %(portal)s.") % {"name": contact, "portal": portal.name},
    )
    return True


@manage_portal_users
@require_http_methods(["GET", "POST"])
def portal_user_invite(request, org_slug, portal_pk):
    """Invite a contact from the Users tab: a search (at most 10 contacts shown, never a list
    of all of them), then the contact, group and language."""
    portal = _portal(request, portal_pk)
    groups = list(UserGroup.objects.filter(portal=portal))
    if request.method == "POST":
        contact = get_object_or_404(
            contacts_visible_to(membership=request.membership),
            pk=int_param(request.POST, "contact", minimum=1) or 0,
        )
        group = get_object_or_404(
            UserGroup.objects.filter(portal=portal), pk=int_param(request.POST, "group") or 0
        )
        language = choice_param(request.POST, "language", portal.languages)
        if _invite_one(request, portal=portal, contact=contact, group=group, language=language):
            return redirect("portal_user_list", org_slug=org_slug, portal_pk=portal.pk)
        return redirect(f"{request.path}?{urlencode({'q': str(contact)})}")
    query = text_param(request.GET, "q", max_length=100)
    found = []
    if query:
        found = list(
            contacts_visible_to(membership=request.membership)
            .filter(
                Q(first_name__icontains=query)
                | Q(last_name__icontains=query)
                | Q(email__icontains=query)
            )
            .order_by("last_name", "first_name", "pk")[:10]
        )
    return render(
        request,
        "portals/users/invite.html",
        {
            "portal": portal,
            "groups": groups,
            "query": query,
            "found": found,
            "languages": settings.LANGUAGES,
        },
    )


def _chosen_users(request, portal) -> tuple[list[PortalUser], str]:
    """The ticked users, or every user matching the tab's filter when "all matching" was
    chosen: refused when the list no longer holds the number the person saw, or more than
    BULK_LIMIT (the same guard as the contacts list)."""
    if text_param(request.POST, "all_matching") != "1":
        ids = id_list_param(request.POST.getlist("users"))
        users = PortalUser.objects.filter(portal=portal, pk__in=ids)
        return list(users.select_related("portal", "group", "contact")), ""
    params = QueryDict(text_param(request.POST, "query", max_length=2000))
    users = portal_users_list(
        portal=portal,
        status=choice_param(params, "status", PortalUser.Status.values),
        group=int_param(params, "group", minimum=1),
        query=text_param(params, "q", max_length=100),
    )
    count, seen = users.count(), int_param(request.POST, "expected_count", minimum=0)
    if count > BULK_LIMIT:
        too_many = _("At most %(limit)s portal users can be changed at once; narrow the filter.")
        return [], too_many % {"limit": BULK_LIMIT}
    if seen != count:
        return [], _(
            "The list changed since you loaded it: %(count)s portal users match now, not "
            "%(seen)s. Check the list and try again."
        ) % {"count": count, "seen": seen if seen is not None else "?"}
    return list(users.select_related("portal")), ""


@manage_portal_users
@require_POST
def portal_users_bulk(request, org_slug, portal_pk):
    """POR-8: disable, enable, re-invite, change group or delete the ticked users."""
    portal = _portal(request, portal_pk)
    back = redirect(
        reverse("portal_user_list", kwargs={"org_slug": org_slug, "portal_pk": portal.pk})
        + "?"
        + text_param(request.POST, "query", max_length=2000)
    )
    action = choice_param(request.POST, "action", BULK_ACTIONS)
    chosen, refusal = _chosen_users(request, portal)
    if refusal:
        messages.error(request, refusal)
        return back
    if not action or not chosen:
        messages.error(request, _("Select portal users and an action."))
        return back
    if action in ("disable", "delete") and request.POST.get("confirmed") != "1":
        return render(
            request,
            "portals/users/confirm.html",
            {
                "portal": portal,
                "action": action,
                "chosen": chosen,
                "query": text_param(request.POST, "query", max_length=2000),
            },
        )
    common = {"actor": request.membership, "portal": portal, "portal_users": chosen}
    try:
        if action == "disable":
            n = portal_users_disable(**common, ip=_ip(request))
            done = ngettext(
                "%(count)s portal user disabled.", "%(count)s portal users disabled.", n
            )
        elif action == "enable":
            n = portal_users_enable(**common, ip=_ip(request))
            done = ngettext("%(count)s portal user enabled.", "%(count)s portal users enabled.", n)
        elif action == "reinvite":
            n = portal_users_reinvite(**common, ip=_ip(request))
            done = ngettext(
                "%(count)s invitation sent again.", "%(count)s invitations sent again.", n
            )
        elif action == "group":
            group = UserGroup.objects.filter(
                portal=portal, pk=int_param(request.POST, "group") or 0
            ).first()
            if group is None:
                messages.error(request, _("Choose the new user group."))
                return back
            n = portal_users_change_group(**common, group=group, ip=_ip(request))
            done = ngettext(
                "%(count)s portal user moved to another group.",
                "%(count)s portal users moved to another group.",
                n,
            )
        else:
            n = portal_users_delete_unconfirmed(**common, ip=_ip(request))
            done = ngettext("%(count)s portal user deleted.", "%(count)s portal users deleted.", n)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        return back
    messages.success(request, done % {"count": n})
    return back


@manage_portal_users
@require_http_methods(["GET", "POST"])
def contact_portal_invite(request, org_slug, contact_pk):
    """POR-3: "Invite to portal" on the contact page (the form is on that page)."""
    contact = get_object_or_404(contacts_visible_to(membership=request.membership), pk=contact_pk)
    back = redirect("contact_detail", org_slug=org_slug, contact_pk=contact.pk)
    if request.method == "GET":
        return back
    form = PortalInviteForm(request.POST, org=request.org)
    if not form.is_valid():
        messages.error(request, _("Choose a portal, a user group and a language."))
        return back
    group = get_object_or_404(
        UserGroup.objects.filter(org=request.org).select_related("portal"),
        pk=form.cleaned_data["group"],
    )
    _invite_one(
        request,
        portal=group.portal,
        contact=contact,
        group=group,
        language=form.cleaned_data["language"],
    )
    return back


@manage_portal_users
@require_POST
def contacts_portal_invite(request, org_slug):
    """POR-3 from the contacts list's bulk bar: the ticked contacts, or all matching the
    filter (same stale-count guard and cap as the list's other bulk actions)."""
    query = text_param(request.POST, "query", max_length=2000)
    back = redirect(f"{reverse('contact_list', kwargs={'org_slug': org_slug})}?{query}")
    group = (
        UserGroup.objects.filter(org=request.org, pk=int_param(request.POST, "portal_group") or 0)
        .select_related("portal")
        .first()
    )
    if group is None:
        messages.error(request, _("Choose the portal and user group to invite the contacts to."))
        return back
    chosen, refusal = contacts_bulk_selection(request)
    if refusal or not chosen:
        messages.error(request, refusal or _("Select the contacts to invite."))
        return back
    try:
        invited, refused = portal_users_invite_many(
            actor=request.membership, group=group, contacts=chosen, ip=_ip(request)
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        return back
    if invited:
        messages.success(
            request,
            ngettext(
                "%(count)s contact invited to %(portal)s.",
                "%(count)s contacts invited to %(portal)s.",
                len(invited),
            )
            % {"count": len(invited), "portal": group.portal.name},
        )
    for contact, reason in refused[:10]:
        messages.warning(request, f"{contact}: {reason}")
    if len(refused) > 10:
        messages.warning(
            request,
            ngettext(
                "%(count)s more contact was not invited.",
                "%(count)s more contacts were not invited.",
                len(refused) - 10,
            )
            % {"count": len(refused) - 10},
        )
    return back
