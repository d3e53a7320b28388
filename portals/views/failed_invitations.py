"""A portal's Failed invitations tab (AUT-7): the log filtered by reason and date, a page at a
time (keyset), exported as a formula-safe csv or xlsx, and the selected rows retried."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip
from crm_portal.params import id_list_param, text_param
from imports.spreadsheets import write_csv, write_xlsx
from users import permissions
from users.decorators import permission_required

from .. import config
from ..failed_invitations import (
    failed_invitations_of,
    failed_invitations_retry,
    failed_page,
)
from ..forms_autoinvite import FailedFilterForm
from ..models import FailedInvitation

manage_portals = permission_required(permissions.MANAGE_PORTALS)
EXPORT_MAX_ROWS = 100_000
EXPORTS = {
    "csv": (write_csv, "text/csv; charset=utf-8"),
    "xlsx": (
        write_xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
}


def _portal(request, portal_pk):
    portal = config.portal_of(request.org, portal_pk)
    if portal is None:
        raise Http404
    return portal


def reason_labels() -> dict[str, str]:
    """Each reason's sentence in the viewer's language, translated once a page rather than
    once a row (get_reason_display translates every choice to find one: issue 16, speed)."""
    return {value: str(label) for value, label in FailedInvitation.Reason.choices}


def _filtered(request, portal):
    form = FailedFilterForm(request.GET or None)
    rows = failed_invitations_of(portal, form.failed_filter(), tz=timezone.get_current_timezone())
    return form, rows


@manage_portals
@require_GET
def failed_invitation_list(request, org_slug, portal_pk):
    portal = _portal(request, portal_pk)
    form, rows = _filtered(request, portal)
    page, next_cursor = failed_page(rows, text_param(request.GET, "after", max_length=60))
    reasons = reason_labels()
    for row in page:
        row.reason_label = reasons.get(row.reason, row.reason)
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "portals/autoinvite/failed_list.html",
        {
            "portal": portal,
            "form": form,
            "rows": page,
            "next_cursor": next_cursor,
            "filter_query": query.urlencode(),
            "filtered": any(v for k, v in request.GET.items() if k != "after"),
            "tab": "failed",
        },
    )


@manage_portals
@require_GET
def failed_invitation_export(request, org_slug, portal_pk, fmt):
    portal = _portal(request, portal_pk)
    if fmt not in EXPORTS:
        raise Http404
    _form, rows = _filtered(request, portal)
    headers = [
        _("Record"),
        _("Email address"),
        _("Language"),
        _("Failed at"),
        _("Reason"),
        _("Provider's answer"),
        _("Retried at"),
    ]
    data = [
        [
            row.record_name,
            row.email,
            row.language,
            timezone.localtime(row.failed_at).isoformat(timespec="seconds"),
            row.get_reason_display(),
            row.detail,
            timezone.localtime(row.retried_at).isoformat(timespec="seconds")
            if row.retried_at
            else "",
        ]
        for row in rows[:EXPORT_MAX_ROWS].iterator(chunk_size=2000)
    ]
    writer, content_type = EXPORTS[fmt]
    response = HttpResponse(writer(headers, data), content_type=content_type)
    filename = f"failed-invitations-{portal.slug}-{timezone.localdate():%Y%m%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@manage_portals
@require_POST
def failed_invitation_retry(request, org_slug, portal_pk):
    portal = _portal(request, portal_pk)
    ids = id_list_param(request.POST.getlist("ids"))
    if not ids:
        messages.error(request, _("Select the failed invitations to retry."))
    else:
        try:
            count = failed_invitations_retry(
                org=request.org,
                actor=request.membership,
                portal=portal,
                ids=ids,
                ip=client_ip(request),
            )
        except ActionRefused as refusal:
            messages.error(request, refusal.message)
        else:
            done = ngettext(
                "%(count)s failed invitation will be tried again: the contact is invited if "
                "it still matches.",
                "%(count)s failed invitations will be tried again: each contact is invited if "
                "it still matches.",
                count,
            )
            messages.success(request, done % {"count": count})
    return redirect("failed_invitation_list", org_slug=request.org.slug, portal_pk=portal.pk)
