"""Leaving an organisation and deleting one (ORG-4): actions that are the member's own."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip, refusal_to_form
from invitations.views import pending_invitation_token

from ..forms import DeleteOrganizationForm
from ..services.members import crm_user_leave
from ..services.organizations import organization_delete


def _after_leaving(request):
    if pending_invitation_token(request):
        return redirect("invitation_continue")
    return redirect("home")


@require_POST
def org_leave(request, org_slug):
    org_name = request.org.name
    try:
        crm_user_leave(org=request.org, membership=request.membership, ip=client_ip(request))
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("dashboard", org_slug=org_slug)
    messages.success(request, _("You left %(org)s.") % {"org": org_name})
    return _after_leaving(request)


@require_http_methods(["GET", "POST"])
def org_delete(request, org_slug):
    if not request.membership.is_super_admin:
        raise PermissionDenied
    form = DeleteOrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        org_name = request.org.name
        try:
            organization_delete(
                org=request.org,
                actor=request.membership,
                ip=client_ip(request),
                confirm_name=form.cleaned_data["confirm_name"],
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(
                request,
                _("%(org)s was deleted. Its final export is on its way to %(email)s.")
                % {"org": org_name, "email": request.user.email},
            )
            return _after_leaving(request)
    return render(request, "users/org_delete.html", {"form": form})
