"""The user import wizard (IMP-1 … IMP-7): upload → options → columns → preview → run in a
worker with a live progress bar → result, failed rows to fix, history."""

from collections import defaultdict

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from crm_portal.exceptions import ActionRefused

from .. import import_services, permissions, services, spreadsheets
from ..decorators import client_ip, permission_required, refusal_to_form
from ..import_forms import MappingForm, OptionsForm, UploadForm
from ..importing import sample_headers, sample_row
from ..models import CrmUser, UserImport, UserImportRow

manage_users = permission_required(permissions.MANAGE_USERS)

FILE_PROBLEMS = {
    "too_many_rows": gettext_lazy(
        "The file has more than %(limit)s data rows. Split it into files of at most "
        "%(limit)s rows; nothing was imported."
    ),
    "bad_type": gettext_lazy("This is not an Excel (.xlsx, .xls) or CSV file."),
    "too_large": gettext_lazy("The file is too large (at most %(mb)s MB)."),
    "bomb": gettext_lazy("This workbook would unpack to an unreasonable size, so it was refused."),
    "empty": gettext_lazy("The file has a header row but no data rows."),
    "no_header": gettext_lazy("The file is empty."),
    "unreadable": gettext_lazy(
        "The file could not be read. Save it again from Excel and upload it again."
    ),
    "encoding": gettext_lazy(
        "The text encoding of this CSV file was not recognised. Save it as CSV UTF-8."
    ),
    "cell_too_long": gettext_lazy("Row %(row)s has a cell longer than %(limit)s characters."),
    "too_many_columns": gettext_lazy("The file has more than %(limit)s columns."),
    "too_complex": gettext_lazy(
        "This file needs far more memory or time to open than a "
        "spreadsheet of its size should, so it was refused."
    ),
}


def file_problem(error: spreadsheets.SpreadsheetError) -> str:
    params = defaultdict(
        str, {"limit": spreadsheets.MAX_DATA_ROWS, "mb": spreadsheets.MAX_FILE_BYTES // 2**20}
    )
    params.update(error.params)
    template = FILE_PROBLEMS.get(error.code)
    return str(template) % params if template else str(error)


def _import(request, import_pk) -> UserImport:
    return get_object_or_404(request.org.user_imports, pk=import_pk)


def _step(name, request, imp):
    return redirect(name, org_slug=request.org.slug, import_pk=imp.pk)


def _unless_started(view):
    """Wizard steps belong to an import that has not started; later, show its progress."""

    def wrapped(request, org_slug, import_pk):
        imp = _import(request, import_pk)
        if imp.status != UserImport.Status.UPLOADED:
            return _step("user_import_detail", request, imp)
        return view(request, imp)

    wrapped.__name__ = view.__name__
    return wrapped


@manage_users
@require_http_methods(["GET", "POST"])
def import_upload(request, org_slug):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            imp = import_services.user_import_upload(
                org=request.org,
                actor=request.membership,
                filename=upload.name,
                data=upload.read(),
            )
        except spreadsheets.SpreadsheetError as error:
            form.add_error("file", file_problem(error))
        else:
            return _step("user_import_options", request, imp)
    recent = request.org.user_imports.select_related("created_by")[:5]
    return render(request, "users/imports/upload.html", {"form": form, "recent": recent})


@manage_users
@require_http_methods(["GET", "POST"])
@_unless_started
def import_options(request, imp):
    initial = {"mode": imp.mode, "match_key": imp.match_key, "keep_empty": imp.keep_empty}
    form = OptionsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        import_services.user_import_configure(
            imp=imp, actor=request.membership, **form.cleaned_data
        )
        return _step("user_import_mapping", request, imp)
    return render(request, "users/imports/options.html", {"form": form, "imp": imp, "step": 2})


@manage_users
@require_http_methods(["GET", "POST"])
@_unless_started
def import_mapping(request, imp):
    form = MappingForm(request.POST or None, headers=imp.headers, initial=imp.mapping)
    if request.method == "POST" and form.is_valid():
        try:
            import_services.user_import_set_mapping(
                imp=imp, actor=request.membership, mapping=form.cleaned_data
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            return _step("user_import_preview", request, imp)
    examples = [row.values for row in imp.rows.all()[:3]]
    columns = [
        (form[str(i)], [values[i] for values in examples if i < len(values)])
        for i in range(len(imp.headers))
    ]
    return render(
        request,
        "users/imports/mapping.html",
        {"form": form, "imp": imp, "columns": columns, "step": 3},
    )


@manage_users
@require_http_methods(["GET", "POST"])
@_unless_started
def import_preview(request, imp):
    if request.method == "POST":
        try:
            import_services.user_import_start(imp=imp, actor=request.membership)
        except ActionRefused as refusal:
            messages.error(request, refusal.message)
        return _step("user_import_detail", request, imp)
    plans = import_services.user_import_preview(imp=imp)
    return render(request, "users/imports/preview.html", preview_context(imp, plans))


def preview_context(imp, plans) -> dict:
    """Any import's preview page: what each row would do, with its mapped cells (IMP-2)."""
    counts = defaultdict(int)
    for _row, plan in plans:
        counts[plan.outcome] += 1
    indexes = sorted(int(i) for i in imp.mapping)
    lines = [
        (row.row_number, plan, [row.values[i] if i < len(row.values) else "" for i in indexes])
        for row, plan in plans
    ]
    return {
        "imp": imp,
        "lines": lines,
        "counts": dict(counts),
        "step": 4,
        "mapped_headers": [imp.headers[i] for i in indexes],
    }


@manage_users
@require_GET
def import_detail(request, org_slug, import_pk):
    imp = _import(request, import_pk)
    if imp.status == UserImport.Status.UPLOADED:
        return _step("user_import_options", request, imp)
    if imp.status != UserImport.Status.DONE:
        return render(request, "users/imports/running.html", {"imp": imp})
    return render(
        request,
        "users/imports/result.html",
        {
            **result_context(request, imp),
            "reinvitable": _just_imported(imp).count(),
        },
    )


def result_context(request, imp) -> dict:
    """Any finished import's result page: counts per outcome and the rows not added, or those
    of the outcome in ?outcome= (IMP-6)."""
    outcome = request.GET.get("outcome", "")
    rows = imp.rows.exclude(outcome=UserImportRow.Outcome.ADDED)
    if outcome in UserImportRow.Outcome.values:
        rows = imp.rows.filter(outcome=outcome)
    page = Paginator(rows.order_by("row_number"), 50).get_page(request.GET.get("page"))
    return {
        "imp": imp,
        "counts": import_services.user_import_counts(imp=imp),
        "page": page,
        "outcome": outcome,
    }


@manage_users
@require_GET
def import_progress(request, org_slug, import_pk):
    imp = _import(request, import_pk)
    if imp.status == UserImport.Status.DONE:
        detail = f"/o/{request.org.slug}/users/import/{imp.pk}/"
        return HttpResponseClientRedirect(detail)
    return render(request, "users/imports/_progress.html", {"imp": imp})


@manage_users
@require_POST
def import_resume(request, org_slug, import_pk):
    imp = _import(request, import_pk)
    try:
        import_services.user_import_resume(imp=imp, actor=request.membership)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.info(
            request,
            _("The import was handed to a worker again; rows already done are not repeated."),
        )
    return _step("user_import_detail", request, imp)


def _just_imported(imp: UserImport):
    """The users this import added who are still waiting for an invitation (IMP-4)."""
    return CrmUser.objects.filter(
        org=imp.org,
        status=CrmUser.Status.UNCONFIRMED,
        pk__in=imp.rows.filter(outcome=UserImportRow.Outcome.ADDED).values("crm_user"),
    )


@manage_users
@require_POST
def import_reinvite(request, org_slug, import_pk):
    imp = _import(request, import_pk)
    try:
        sent = services.crm_users_reinvite(
            org=request.org,
            actor=request.membership,
            memberships=_just_imported(imp),
            ip=client_ip(request),
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("%(count)s invitation(s) sent.") % {"count": sent})
    return _step("user_import_detail", request, imp)


def _download(content: bytes, filename: str, fmt: str) -> HttpResponse:
    content_type = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


def _write(fmt, headers, rows) -> bytes:
    if fmt not in ("csv", "xlsx"):
        raise Http404
    writer = spreadsheets.write_csv if fmt == "csv" else spreadsheets.write_xlsx
    return writer(headers, rows)


@manage_users
@require_GET
def import_failed_rows(request, org_slug, import_pk, fmt):
    """The rows that failed, with the reason, to fix and import again (IMP-6)."""
    return failed_rows_download(_import(request, import_pk), fmt)


def failed_rows_download(imp, fmt: str) -> HttpResponse:
    """Any import's failed rows as uploaded, plus the reason, in a formula-safe file."""
    failed = imp.rows.filter(outcome=UserImportRow.Outcome.FAILED).order_by("row_number")
    width = len(imp.headers)
    rows = [[*(row.values + [""] * width)[:width], row.reason] for row in failed]
    return _download(_write(fmt, [*imp.headers, _("Error")], rows), f"failed-rows-{imp.pk}", fmt)


@manage_users
@require_GET
def import_sample(request, org_slug, fmt):
    return _download(_write(fmt, sample_headers(), [sample_row()]), _("users-sample"), fmt)


@manage_users
@require_GET
def import_history(request, org_slug):
    imports = request.org.user_imports.select_related("created_by")
    page = Paginator(imports, 25).get_page(request.GET.get("page"))
    return render(request, "users/imports/history.html", {"page": page})


urlpatterns = [
    path("users/import/", import_upload, name="user_import_upload"),
    path("users/import/history/", import_history, name="user_import_history"),
    path("users/import/sample.<str:fmt>", import_sample, name="user_import_sample"),
    path("users/import/<int:import_pk>/", import_detail, name="user_import_detail"),
    path("users/import/<int:import_pk>/options/", import_options, name="user_import_options"),
    path("users/import/<int:import_pk>/columns/", import_mapping, name="user_import_mapping"),
    path("users/import/<int:import_pk>/preview/", import_preview, name="user_import_preview"),
    path("users/import/<int:import_pk>/progress/", import_progress, name="user_import_progress"),
    path("users/import/<int:import_pk>/resume/", import_resume, name="user_import_resume"),
    path("users/import/<int:import_pk>/reinvite/", import_reinvite, name="user_import_reinvite"),
    path(
        "users/import/<int:import_pk>/failed.<str:fmt>",
        import_failed_rows,
        name="user_import_failed_rows",
    ),
]
