"""The contact import wizard under /o/<org_slug>/contacts/import/: the user import's pages for
contacts — upload → options → columns → preview → run in a worker with a live progress bar →
result, failed rows to fix, history. Members who may create or edit contacts use it (USR-1);
a member who is not an administrator sees only their own imports, as their rows may hold
contacts others may not see (USR-2)."""

from functools import wraps

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from crm_portal.exceptions import ActionRefused
from users import spreadsheets
from users.decorators import refusal_to_form
from users.import_forms import MappingForm, UploadForm
from users.views.imports import (
    _download,
    _write,
    failed_rows_download,
    file_problem,
    preview_context,
    result_context,
)

from . import contact_import as services
from .models import ContactImport

TEMPLATES = "records/contact_import/"


class OptionsForm(forms.Form):
    mode = forms.ChoiceField(
        label=gettext_lazy("What should the import do?"),
        choices=ContactImport.Mode.choices,
        widget=forms.RadioSelect,
    )
    match_key = forms.ChoiceField(
        label=gettext_lazy("Find existing contacts by"),
        choices=ContactImport.MatchKey.choices,
        widget=forms.RadioSelect,
        help_text=gettext_lazy("Used when updating: only contacts you can see are matched."),
    )
    keep_empty = forms.BooleanField(
        label=gettext_lazy("If a cell is empty, keep the existing value"),
        required=False,
        help_text=gettext_lazy("Otherwise an empty cell clears that field of an existing contact."),
    )

    def __init__(self, *args, modes, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the modes the member may use are shown; another one posted is refused (403).
        self.fields["mode"].widget.choices = [
            (value, label) for value, label in ContactImport.Mode.choices if value in modes
        ]


def importer_required(view):
    """Members who may neither create nor edit contacts get 403."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not services.can_import_contacts(request.membership):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _imports(request):
    imports = request.org.contact_imports.all()
    return imports if request.membership.is_admin else imports.filter(created_by=request.membership)


def _import(request, contact_import_pk) -> ContactImport:
    return get_object_or_404(_imports(request), pk=contact_import_pk)


def _step(name, request, imp):
    return redirect(name, org_slug=request.org.slug, contact_import_pk=imp.pk)


def _unless_started(view):
    """Wizard steps belong to an import that has not started; later, show its progress."""

    @wraps(view)
    def wrapped(request, org_slug, contact_import_pk):
        imp = _import(request, contact_import_pk)
        if imp.status != ContactImport.Status.UPLOADED:
            return _step("contact_import_detail", request, imp)
        return view(request, imp)

    return wrapped


@importer_required
@require_http_methods(["GET", "POST"])
def import_upload(request, org_slug):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            imp = services.contact_import_upload(
                org=request.org, actor=request.membership, filename=upload.name, data=upload.read()
            )
        except spreadsheets.SpreadsheetError as error:
            form.add_error("file", file_problem(error))
        else:
            return _step("contact_import_options", request, imp)
    return render(request, TEMPLATES + "upload.html", {"form": form})


@importer_required
@require_http_methods(["GET", "POST"])
@_unless_started
def import_options(request, imp):
    initial = {"mode": imp.mode, "match_key": imp.match_key, "keep_empty": imp.keep_empty}
    modes = services.allowed_modes(request.membership)
    form = OptionsForm(request.POST or None, initial=initial, modes=modes)
    if request.method == "POST" and form.is_valid():
        services.contact_import_configure(imp=imp, actor=request.membership, **form.cleaned_data)
        return _step("contact_import_mapping", request, imp)
    return render(request, TEMPLATES + "options.html", {"form": form, "imp": imp, "step": 2})


@importer_required
@require_http_methods(["GET", "POST"])
@_unless_started
def import_mapping(request, imp):
    form = MappingForm(
        request.POST or None,
        headers=imp.headers,
        initial=imp.mapping,
        fields=services.import_fields(request.org),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_import_set_mapping(
                imp=imp, actor=request.membership, mapping=form.cleaned_data
            )
        except ActionRefused as refusal:
            refusal_to_form(form, refusal)
        else:
            return _step("contact_import_preview", request, imp)
    examples = [row.values for row in imp.rows.all()[:3]]
    columns = [
        (form[str(i)], [values[i] for values in examples if i < len(values)])
        for i in range(len(imp.headers))
    ]
    return render(
        request,
        TEMPLATES + "mapping.html",
        {"form": form, "imp": imp, "columns": columns, "step": 3},
    )


@importer_required
@require_http_methods(["GET", "POST"])
@_unless_started
def import_preview(request, imp):
    if request.method == "POST":
        try:
            services.contact_import_start(imp=imp, actor=request.membership)
        except ActionRefused as refusal:
            messages.error(request, refusal.message)
        return _step("contact_import_detail", request, imp)
    plans = services.contact_import_preview(imp=imp)
    return render(request, TEMPLATES + "preview.html", preview_context(imp, plans))


@importer_required
@require_GET
def import_detail(request, org_slug, contact_import_pk):
    imp = _import(request, contact_import_pk)
    if imp.status == ContactImport.Status.UPLOADED:
        return _step("contact_import_options", request, imp)
    if imp.status != ContactImport.Status.DONE:
        return render(request, TEMPLATES + "running.html", {"imp": imp})
    return render(request, TEMPLATES + "result.html", result_context(request, imp))


@importer_required
@require_GET
def import_progress(request, org_slug, contact_import_pk):
    imp = _import(request, contact_import_pk)
    if imp.status == ContactImport.Status.DONE:
        return HttpResponseClientRedirect(
            reverse(
                "contact_import_detail",
                kwargs={"org_slug": request.org.slug, "contact_import_pk": imp.pk},
            )
        )
    return render(request, TEMPLATES + "_progress.html", {"imp": imp})


@importer_required
@require_POST
def import_resume(request, org_slug, contact_import_pk):
    imp = _import(request, contact_import_pk)
    try:
        services.contact_import_resume(imp=imp, actor=request.membership)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.info(
            request,
            _("The import was handed to a worker again; rows already done are not repeated."),
        )
    return _step("contact_import_detail", request, imp)


@importer_required
@require_GET
def import_failed_rows(request, org_slug, contact_import_pk, fmt):
    """The rows that failed, with the reason, to fix and import again."""
    return failed_rows_download(_import(request, contact_import_pk), fmt)


@importer_required
@require_GET
def import_sample(request, org_slug, fmt):
    rows = [services.sample_row(request.org)]
    content = _write(fmt, services.sample_headers(request.org), rows)
    return _download(content, _("contacts-sample"), fmt)


@importer_required
@require_GET
def import_history(request, org_slug):
    imports = _imports(request).select_related("created_by")
    page = Paginator(imports, 25).get_page(request.GET.get("page"))
    return render(request, TEMPLATES + "history.html", {"page": page})


urlpatterns = [
    path("contacts/import/", import_upload, name="contact_import_upload"),
    path("contacts/import/history/", import_history, name="contact_import_history"),
    path("contacts/import/sample.<str:fmt>", import_sample, name="contact_import_sample"),
    path("contacts/import/<int:contact_import_pk>/", import_detail, name="contact_import_detail"),
    path(
        "contacts/import/<int:contact_import_pk>/options/",
        import_options,
        name="contact_import_options",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/columns/",
        import_mapping,
        name="contact_import_mapping",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/preview/",
        import_preview,
        name="contact_import_preview",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/progress/",
        import_progress,
        name="contact_import_progress",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/resume/",
        import_resume,
        name="contact_import_resume",
    ),
    path(
        "contacts/import/<int:contact_import_pk>/failed.<str:fmt>",
        import_failed_rows,
        name="contact_import_failed_rows",
    ),
]
