"""User details (USR-6): a user manager edits anyone's, every member edits their own."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip, refusal_to_form
from crm_portal.params import text_param

from .. import permissions
from ..forms import UserDetailsForm
from ..models import CrmUser
from ..services.members import crm_user_details_update


@require_http_methods(["GET", "POST"])
def user_details_edit(request, org_slug, user_pk):
    me = request.membership
    # Permission before lookup: without Manage Users, someone else's id is a 403 whether or
    # not it exists.
    if user_pk != me.pk and not me.can(permissions.MANAGE_USERS):
        raise PermissionDenied
    membership = get_object_or_404(CrmUser.objects.filter(org=request.org), pk=user_pk)
    return _edit(request, membership, redirect_to=request.path)


@require_http_methods(["GET", "POST"])
def my_details(request, org_slug):
    return _edit(request, request.membership, redirect_to=request.path)


def _edit(request, membership: CrmUser, *, redirect_to: str):
    form = UserDetailsForm(
        request.POST or None,
        instance=membership,
        date_formats_url=reverse("details_date_formats", kwargs={"org_slug": request.org.slug}),
    )
    if request.method == "POST" and form.is_valid():
        try:
            crm_user_details_update(
                org=request.org,
                actor=request.membership,
                membership=membership,
                data=form.cleaned_data,
                ip=client_ip(request),
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            messages.success(request, _("Details of %(name)s saved.") % {"name": membership})
            return redirect(redirect_to)
    return render(
        request,
        "users/details/edit.html",
        {"form": form, "subject": membership, "is_self": membership.pk == request.membership.pk},
    )


@require_GET
def details_date_formats(request, org_slug):
    """The date-format field for ?locale= (htmx swaps it in when the locale changes); keeps
    ?date_format= selected when the new locale allows it."""
    form = UserDetailsForm(
        initial={
            "locale": text_param(request.GET, "locale"),
            "date_format": text_param(request.GET, "date_format"),
        },
        instance=request.membership,
    )
    return render(request, "users/details/_date_format_field.html", {"form": form})
