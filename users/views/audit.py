"""The audit log page (USR-9): who did what to whom, when and from which IP; filterable,
paginated and exportable as CSV."""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from crm_portal.params import page_param
from imports.spreadsheets import write_csv

from .. import permissions
from ..audit import action_label
from ..decorators import permission_required
from ..forms import AuditLogFilterForm
from ..preferences import format_datetime
from ..selectors import audit_entries

PAGE_SIZE = 50


def details_text(details: dict) -> str:
    def shown(value):
        if isinstance(value, dict):
            return ", ".join(f"{k}: {shown(v)}" for k, v in value.items())
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return "—" if value is None else str(value)

    return "; ".join(f"{key}: {shown(value)}" for key, value in (details or {}).items())


def _filtered(request):
    form = AuditLogFilterForm(request.GET or None, org=request.org)
    return form, audit_entries(org=request.org, **form.filters())


@require_GET
@permission_required(permissions.MANAGE_USERS)
def audit_log(request, org_slug):
    form, entries = _filtered(request)
    page = Paginator(entries, PAGE_SIZE).get_page(page_param(request.GET))
    rows = [(e, action_label(e.action), details_text(e.details)) for e in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "users/audit_log.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "filter_query": query.urlencode(),
            "filtered": any(v for k, v in request.GET.items() if k != "page"),
        },
    )


@require_GET
@permission_required(permissions.MANAGE_USERS)
def audit_log_export(request, org_slug):
    _form, entries = _filtered(request)
    headers = [_("When"), _("Who"), _("Action"), _("Whom"), _("IP address"), _("Details")]
    rows = [
        [
            format_datetime(e.created_at),
            e.actor_label,
            action_label(e.action),
            e.target_label,
            e.ip_address or "",
            details_text(e.details),
        ]
        for e in entries.iterator(chunk_size=500)
    ]
    response = HttpResponse(write_csv(headers, rows), content_type="text/csv; charset=utf-8")
    filename = f"audit-log-{request.org.slug}-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
