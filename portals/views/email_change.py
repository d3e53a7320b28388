"""POR-5: "Change email address" of a portal user (Users tab), and the link the person follows
on the portal site (/portal/<slug>/email/<token>/). Thin views over portals.email_change."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm_portal.exceptions import ActionRefused
from users import permissions
from users.decorators import permission_required

from ..email_change import (
    CONFIRMATION_SENT,
    RECORDED,
    REINVITED,
    UNCHANGED,
    email_change_confirm,
    email_change_lookup,
    portal_user_email_change,
)
from ..forms_email_change import EmailChangeForm
from ..models import Portal, PortalUser
from ..site_access import portal_public


@permission_required(permissions.MANAGE_PORTAL_USERS)
@require_http_methods(["GET", "POST"])
def portal_user_email_change_view(request, org_slug, portal_pk, portal_user_pk):
    portal = get_object_or_404(Portal.objects.filter(org=request.org), pk=portal_pk)
    portal_user = get_object_or_404(
        PortalUser.objects.filter(portal=portal).select_related("contact", "group", "portal"),
        pk=portal_user_pk,
    )
    form = EmailChangeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = portal_user_email_change(
                actor=request.membership,
                portal=portal,
                portal_user=portal_user,
                email=form.cleaned_data["email"],
                ip=request.META.get("REMOTE_ADDR"),
            )
        except ActionRefused as refusal:
            form.add_error("email", refusal.message)
        else:
            email = form.cleaned_data["email"]
            text = {
                UNCHANGED: _("%(email)s is already this user's address: nothing changed."),
                CONFIRMATION_SENT: _(
                    "A confirmation was sent to %(email)s. The user keeps signing in with the "
                    "current address until they confirm."
                ),
                REINVITED: _(
                    "A new invitation was sent to %(email)s; the old link no longer works."
                ),
                RECORDED: _(
                    "The change to %(email)s is recorded. The confirmation is sent when the user "
                    "is enabled again."
                ),
            }[outcome] % {"email": email}
            (messages.info if outcome == UNCHANGED else messages.success)(request, text)
            return redirect("portal_user_list", org_slug=org_slug, portal_pk=portal.pk)
    return render(
        request,
        "portals/users/email_change.html",
        {"portal": portal, "portal_user": portal_user, "form": form},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@portal_public
def portal_email_confirm(request, portal, portal_user, token: str):
    """GET shows what the link does; POST confirms. Unknown, expired, used or replaced links
    all get the same page."""
    change = email_change_lookup(portal, token)
    context = {"portal": portal, "change": change}
    if change is None:
        return render(request, "portals/site/email_confirm.html", context, status=404)
    other = request.user.is_authenticated and request.user.pk != change.portal_user.user_id
    if other:
        context["other_account"] = True
        return render(request, "portals/site/email_confirm.html", context, status=403)
    if request.method == "GET":
        return render(request, "portals/site/email_confirm.html", context)
    try:
        email_change_confirm(portal=portal, token=token, user=request.user)
    except ActionRefused as refusal:
        context["refusal"] = refusal.message
        return render(request, "portals/site/email_confirm.html", context, status=409)
    messages.success(
        request,
        _("Your email address is changed. Sign in with %(email)s from now on.")
        % {"email": change.new_email},
    )
    if request.user.is_authenticated:
        return HttpResponseRedirect(reverse("portal_home", kwargs={"portal_slug": portal.slug}))
    return HttpResponseRedirect(reverse("portal_login", kwargs={"portal_slug": portal.slug}))
