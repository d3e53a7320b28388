"""The audit log page (USR-9): who did what to whom, when and from which IP; filterable,
paginated and exportable as CSV."""

import json

from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from crm_portal.params import page_param
from imports.spreadsheets import write_csv

from .. import permissions
from ..audit import action_label, audit_sentence
from ..decorators import permission_required
from ..forms import AuditLogFilterForm
from ..selectors import audit_entries

PAGE_SIZE = 50


def _filtered(request):
    form = AuditLogFilterForm(request.GET or None, org=request.org)
    return form, audit_entries(org=request.org, **form.filters())


@require_GET
@permission_required(permissions.MANAGE_USERS)
def audit_log(request, org_slug):
    form, entries = _filtered(request)
    page = Paginator(entries, PAGE_SIZE).get_page(page_param(request.GET))
    rows = [
        (e, action_label(e.action), audit_sentence(e.action, e.details, e.target_label))
        for e in page.object_list
    ]
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
    headers = [
        _("When"),
        _("Who"),
        _("Action"),
        _("Whom"),
        _("IP address"),
        _("Details"),
        _("Details (data)"),
    ]
    # ISO 8601 with the viewer's offset: a spreadsheet or a script reads it whatever the
    # viewer's date format; the sentence is for people, the JSON for programs.
    rows = [
        [
            timezone.localtime(e.created_at).isoformat(timespec="seconds"),
            e.actor_label,
            action_label(e.action),
            e.target_label,
            e.ip_address or "",
            audit_sentence(e.action, e.details, e.target_label),
            json.dumps(e.details or {}, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True),
        ]
        for e in entries.iterator(chunk_size=500)
    ]
    response = HttpResponse(write_csv(headers, rows), content_type="text/csv; charset=utf-8")
    filename = f"audit-log-{request.org.slug}-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
