"""The spreadsheet-import wizard that every kind of import shares (IMP-1 … IMP-7): upload →
options → columns → preview → run in a worker with a live progress bar → result, the failed
rows to fix, history and sample files.

Every step works the same way for every kind of import. An `ImportWizard` names what differs —
the kind it imports, the URL names of its pages, which imports a member may see, the texts of
its steps — and its methods are the pages. Each kind's URL module writes its paths out, each
pointing at a named view function that checks the member's permission and the HTTP method and
then calls the wizard. The pages are the templates under templates/imports/, which get the
wizard as `wizard`; each wizard's result page extends imports/result.html with the wizard's own
actions."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_htmx.http import HttpResponseClientRedirect

from crm_portal.exceptions import ActionRefused
from crm_portal.http import refusal_to_form

from . import spreadsheets
from .forms import MappingForm, OptionsForm, OptionsWording, UploadForm
from .kinds import ImportKind
from .models import ImportRow, ImportRun
from .selectors import import_counts, import_preview
from .services import (
    import_configure,
    import_resume,
    import_set_mapping,
    import_start,
    import_upload,
)

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
    """What the upload form says about a file we won't read, in the member's language."""
    params = defaultdict(
        str, {"limit": spreadsheets.MAX_DATA_ROWS, "mb": spreadsheets.MAX_FILE_BYTES // 2**20}
    )
    params.update(error.params)
    template = FILE_PROBLEMS.get(error.code)
    return str(template) % params if template else str(error)


def spreadsheet_content(fmt: str, headers: list, rows: list) -> bytes:
    """A formula-safe .csv or .xlsx file; any other format is a 404."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    writer = spreadsheets.write_csv if fmt == "csv" else spreadsheets.write_xlsx
    return writer(headers, rows)


def spreadsheet_download(content: bytes, filename: str, fmt: str) -> HttpResponse:
    """`content` as the attachment `<filename>.<fmt>`."""
    content_type = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


def failed_rows_download(imp: ImportRun, fmt: str) -> HttpResponse:
    """Any import's failed rows as uploaded, plus the reason, to fix and import again (IMP-6)."""
    failed = imp.rows.filter(outcome=ImportRow.Outcome.FAILED).order_by("row_number")
    width = len(imp.headers)
    rows = [[*(row.values + [""] * width)[:width], row.reason_text] for row in failed]
    content = spreadsheet_content(fmt, [*imp.headers, _("Error")], rows)
    return spreadsheet_download(content, f"failed-rows-{imp.pk}", fmt)


def mapping_columns(form: forms.Form, imp: ImportRun) -> list[tuple]:
    """The columns step's table: each column's choice with the column's first few values."""
    examples = [row.values for row in imp.rows.all()[:3]]
    return [
        (form[str(i)], [values[i] for values in examples if i < len(values)])
        for i in range(len(imp.headers))
    ]


def preview_context(imp: ImportRun, plans: list) -> dict:
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


def result_context(request: HttpRequest, imp: ImportRun) -> dict:
    """Any finished import's result page: counts per outcome and the rows not added, or those
    of the outcome in ?outcome= (IMP-6)."""
    outcome = request.GET.get("outcome", "")
    rows = imp.rows.exclude(outcome=ImportRow.Outcome.ADDED)
    if outcome in ImportRow.Outcome.values:
        rows = imp.rows.filter(outcome=outcome)
    page = Paginator(rows.order_by("row_number"), 50).get_page(request.GET.get("page"))
    return {
        "imp": imp,
        "counts": import_counts(imp=imp),
        "page": page,
        "outcome": outcome,
    }


# The wizard's pages, as their URL names end.
PAGES = [
    "upload",
    "history",
    "sample",
    "detail",
    "options",
    "mapping",
    "preview",
    "progress",
    "resume",
    "failed_rows",
]


@dataclass(frozen=True, kw_only=True)
class ImportWizard:
    """What one kind of import's wizard has of its own; its pages are the methods below. Each
    takes the request (and the import's id, or the file format) once the member's permission
    and the HTTP method are checked."""

    kind: ImportKind  # what is imported: the engine's services are handed it
    url_prefix: str  # the pages' URL names are "<url_prefix>_upload", "<url_prefix>_options", …
    imports: Callable[[HttpRequest], QuerySet]  # the imports the member may open
    # What the pages say.
    title: str  # the wizard's heading, e.g. "Import users"
    list_url: str  # URL name of the list the rows go to: Cancel leads back there
    upload_note: str  # said under the upload form
    mapping_note: str = ""  # said above the columns, where they need explaining
    options_wording: OptionsWording  # how the options step calls the kind's records
    result_template: str  # extends imports/result.html with the wizard's own actions
    result_extras: Callable[[ImportRun], dict] = lambda imp: {}  # more for that template
    sample_name: str  # the sample file's name, without its extension

    @property
    def urls(self) -> dict[str, str]:
        """The URL name of each page, for `{% url wizard.urls.options org.slug imp.pk %}`."""
        return {page: f"{self.url_prefix}_{page}" for page in PAGES}

    def get_import(self, request: HttpRequest, pk: int) -> ImportRun:
        """One of the imports the member may open; any other is a 404."""
        return get_object_or_404(self.imports(request), pk=pk)

    def redirect(self, page: str, request: HttpRequest, imp: ImportRun) -> HttpResponse:
        return redirect(self.urls[page], request.org.slug, imp.pk)

    def render(self, request: HttpRequest, template: str, context: dict) -> HttpResponse:
        return render(request, template, {"wizard": self, **context})

    def _unless_started(self, request, pk, step):
        """Wizard steps belong to an import that has not started; later, show its progress."""
        imp = self.get_import(request, pk)
        if imp.status != ImportRun.Status.UPLOADED:
            return self.redirect("detail", request, imp)
        return step(request, imp)

    def upload_view(self, request):
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                imp = import_upload(
                    kind=self.kind,
                    org=request.org,
                    actor=request.membership,
                    filename=upload.name,
                    data=upload.read(),
                )
            except spreadsheets.SpreadsheetError as error:
                form.add_error("file", file_problem(error))
            else:
                return self.redirect("options", request, imp)
        return self.render(request, "imports/upload.html", {"form": form})

    def options_view(self, request, pk):
        return self._unless_started(request, pk, self._options)

    def _options(self, request, imp):
        form = self.options_form(request, imp)
        if request.method == "POST" and form.is_valid():
            import_configure(kind=self.kind, imp=imp, actor=request.membership, **form.cleaned_data)
            return self.redirect("mapping", request, imp)
        return self.render(request, "imports/options.html", {"form": form, "imp": imp, "step": 2})

    def options_form(self, request, imp) -> OptionsForm:
        run = self.kind.run_model
        return OptionsForm(
            request.POST or None,
            initial={"mode": imp.mode, "match_key": imp.match_key, "keep_empty": imp.keep_empty},
            modes=run._meta.get_field("mode").choices,
            allowed_modes=self.kind.allowed_modes(request.membership),
            match_keys=run._meta.get_field("match_key").choices,
            wording=self.options_wording,
        )

    def mapping_view(self, request, pk):
        return self._unless_started(request, pk, self._mapping)

    def _mapping(self, request, imp):
        form = MappingForm(
            request.POST or None,
            headers=imp.headers,
            initial=imp.mapping,
            fields=self.kind.fields(request.org),
        )
        if request.method == "POST" and form.is_valid():
            try:
                import_set_mapping(
                    kind=self.kind, imp=imp, actor=request.membership, mapping=form.cleaned_data
                )
            except ActionRefused as refusal:
                refusal_to_form(form, refusal)
            else:
                return self.redirect("preview", request, imp)
        columns = mapping_columns(form, imp)
        return self.render(
            request,
            "imports/mapping.html",
            {"form": form, "imp": imp, "columns": columns, "step": 3},
        )

    def preview_view(self, request, pk):
        return self._unless_started(request, pk, self._preview)

    def _preview(self, request, imp):
        if request.method == "POST":
            try:
                import_start(kind=self.kind, imp=imp, actor=request.membership)
            except ActionRefused as refusal:
                messages.error(request, refusal.message)
            return self.redirect("detail", request, imp)
        context = preview_context(imp, import_preview(kind=self.kind, imp=imp))
        return self.render(request, "imports/preview.html", context)

    def detail_view(self, request, pk):
        """Not started: back to the options. Running: the progress bar. Done: the result."""
        imp = self.get_import(request, pk)
        if imp.status == ImportRun.Status.UPLOADED:
            return self.redirect("options", request, imp)
        if imp.status != ImportRun.Status.DONE:
            return self.render(request, "imports/running.html", {"imp": imp})
        context = {**result_context(request, imp), **self.result_extras(imp)}
        return self.render(request, self.result_template, context)

    def progress_view(self, request, pk):
        """The progress bar that htmx polls; once the import is done, on to its result."""
        imp = self.get_import(request, pk)
        if imp.status == ImportRun.Status.DONE:
            return HttpResponseClientRedirect(
                reverse(self.urls["detail"], args=[request.org.slug, imp.pk])
            )
        return self.render(request, "imports/_progress.html", {"imp": imp})

    def resume_view(self, request, pk):
        imp = self.get_import(request, pk)
        try:
            import_resume(kind=self.kind, imp=imp, actor=request.membership)
        except ActionRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.info(
                request,
                _("The import was restarted; rows already done are not repeated."),
            )
        return self.redirect("detail", request, imp)

    def failed_rows_view(self, request, pk, fmt):
        return failed_rows_download(self.get_import(request, pk), fmt)

    def sample_view(self, request, fmt):
        """A sample file with the right columns, in the member's language (IMP-1)."""
        headers, rows = self.kind.sample(request.org)
        content = spreadsheet_content(fmt, headers, rows)
        return spreadsheet_download(content, str(self.sample_name), fmt)

    def history_view(self, request):
        imports = self.imports(request).select_related("created_by")
        page = Paginator(imports, 25).get_page(request.GET.get("page"))
        return self.render(request, "imports/history.html", {"page": page})
