"""The contact import wizard under /o/<org_slug>/contacts/import/: the shared import wizard's
pages for contacts — upload → options → columns → preview → run in a worker with a live
progress bar → result, failed rows to fix, history. Members who may create or edit contacts
use it (USR-1); a member who is not an administrator sees only their own imports, as their rows
may hold contacts others may not see (USR-2)."""

from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imports.forms import OptionsWording
from imports.views import ImportWizard
from users.decorators import member_passes

from ..contact_import import CONTACT_IMPORT, can_import_contacts

# Members who may neither create nor edit contacts get 403.
importer_required = member_passes(can_import_contacts)


def _imports(request):
    imports = request.org.contact_imports.all()
    return imports if request.membership.is_admin else imports.filter(created_by=request.membership)


CONTACT_IMPORT_WIZARD = ImportWizard(
    kind=CONTACT_IMPORT,
    url_prefix="contact_import",
    imports=_imports,
    title=gettext_lazy("Import contacts"),
    list_url="contact_list",
    upload_note=gettext_lazy(
        "Give the account by its name and the owner by their email address; accounts are not "
        "created by the import. New contacts without an owner become yours."
    ),
    mapping_note=gettext_lazy(
        "Account: the name of an existing account. Owner: the email address of a CRM user."
    ),
    options_wording=OptionsWording(
        match_key=gettext_lazy("Find existing contacts by"),
        match_key_help=gettext_lazy("Used when updating: only contacts you can see are matched."),
        keep_empty_help=gettext_lazy(
            "Otherwise an empty cell clears that field of an existing contact."
        ),
    ),
    result_template="records/contact_import/result.html",
    sample_name=gettext_lazy("contacts-sample"),
)


@importer_required
@require_http_methods(["GET", "POST"])
def contact_import_upload(request, org_slug):
    return CONTACT_IMPORT_WIZARD.upload_view(request)


@importer_required
@require_GET
def contact_import_history(request, org_slug):
    return CONTACT_IMPORT_WIZARD.history_view(request)


@importer_required
@require_GET
def contact_import_sample(request, org_slug, fmt):
    return CONTACT_IMPORT_WIZARD.sample_view(request, fmt)


@importer_required
@require_GET
def contact_import_detail(request, org_slug, contact_import_pk):
    return CONTACT_IMPORT_WIZARD.detail_view(request, contact_import_pk)


@importer_required
@require_http_methods(["GET", "POST"])
def contact_import_options(request, org_slug, contact_import_pk):
    return CONTACT_IMPORT_WIZARD.options_view(request, contact_import_pk)


@importer_required
@require_http_methods(["GET", "POST"])
def contact_import_mapping(request, org_slug, contact_import_pk):
    return CONTACT_IMPORT_WIZARD.mapping_view(request, contact_import_pk)


@importer_required
@require_http_methods(["GET", "POST"])
def contact_import_preview(request, org_slug, contact_import_pk):
    return CONTACT_IMPORT_WIZARD.preview_view(request, contact_import_pk)


@importer_required
@require_GET
def contact_import_progress(request, org_slug, contact_import_pk):
    return CONTACT_IMPORT_WIZARD.progress_view(request, contact_import_pk)


@importer_required
@require_POST
def contact_import_resume(request, org_slug, contact_import_pk):
    return CONTACT_IMPORT_WIZARD.resume_view(request, contact_import_pk)


@importer_required
@require_GET
def contact_import_failed_rows(request, org_slug, contact_import_pk, fmt):
    return CONTACT_IMPORT_WIZARD.failed_rows_view(request, contact_import_pk, fmt)
