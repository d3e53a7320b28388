"""The user import wizard (IMP-1 … IMP-7) under /o/<org_slug>/users/import/, for members who
may manage users: the shared import wizard's pages for users, and "re-invite the users just
imported" on the result page."""

from django.contrib import messages
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip
from imports.forms import OptionsWording
from imports.views import ImportWizard
from invitations.crm_users import crm_users_reinvite

from .. import permissions
from ..decorators import permission_required
from ..importing import USER_IMPORT
from ..models import CrmUser, UserImport, UserImportRow

manage_users = permission_required(permissions.MANAGE_USERS)


def _just_imported(imp: UserImport):
    """The users this import added who are still waiting for an invitation (IMP-4)."""
    return CrmUser.objects.filter(
        org=imp.org,
        status=CrmUser.Status.UNCONFIRMED,
        pk__in=imp.rows.filter(outcome=UserImportRow.Outcome.ADDED).values("crm_user"),
    )


USER_IMPORT_WIZARD = ImportWizard(
    kind=USER_IMPORT,
    url_prefix="user_import",
    imports=lambda request: request.org.user_imports.all(),
    title=gettext_lazy("Import users"),
    list_url="user_list",
    upload_note=gettext_lazy(
        "Imported users get no invitation: they wait under Unconfirmed users until you "
        "re-invite them."
    ),
    options_wording=OptionsWording(
        match_key=gettext_lazy("Find existing users by"),
        match_key_help=gettext_lazy("Used when updating existing users."),
        keep_empty_help=gettext_lazy(
            "Otherwise an empty cell clears that field of an existing user."
        ),
    ),
    result_template="users/imports/result.html",
    result_extras=lambda imp: {"reinvitable": _just_imported(imp).count()},
    sample_name=gettext_lazy("users-sample"),
)


@manage_users
@require_http_methods(["GET", "POST"])
def user_import_upload(request, org_slug):
    return USER_IMPORT_WIZARD.upload_view(request)


@manage_users
@require_GET
def user_import_history(request, org_slug):
    return USER_IMPORT_WIZARD.history_view(request)


@manage_users
@require_GET
def user_import_sample(request, org_slug, fmt):
    return USER_IMPORT_WIZARD.sample_view(request, fmt)


@manage_users
@require_GET
def user_import_detail(request, org_slug, import_pk):
    return USER_IMPORT_WIZARD.detail_view(request, import_pk)


@manage_users
@require_http_methods(["GET", "POST"])
def user_import_options(request, org_slug, import_pk):
    return USER_IMPORT_WIZARD.options_view(request, import_pk)


@manage_users
@require_http_methods(["GET", "POST"])
def user_import_mapping(request, org_slug, import_pk):
    return USER_IMPORT_WIZARD.mapping_view(request, import_pk)


@manage_users
@require_http_methods(["GET", "POST"])
def user_import_preview(request, org_slug, import_pk):
    return USER_IMPORT_WIZARD.preview_view(request, import_pk)


@manage_users
@require_GET
def user_import_progress(request, org_slug, import_pk):
    return USER_IMPORT_WIZARD.progress_view(request, import_pk)


@manage_users
@require_POST
def user_import_resume(request, org_slug, import_pk):
    return USER_IMPORT_WIZARD.resume_view(request, import_pk)


@manage_users
@require_GET
def user_import_failed_rows(request, org_slug, import_pk, fmt):
    return USER_IMPORT_WIZARD.failed_rows_view(request, import_pk, fmt)


@manage_users
@require_POST
def user_import_reinvite(request, org_slug, import_pk):
    imp = USER_IMPORT_WIZARD.get_import(request, import_pk)
    try:
        sent = crm_users_reinvite(
            org=request.org,
            actor=request.membership,
            memberships=_just_imported(imp),
            ip=client_ip(request),
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request,
            ngettext("%(count)s invitation sent.", "%(count)s invitations sent.", sent)
            % {"count": sent},
        )
    return USER_IMPORT_WIZARD.redirect("detail", request, imp)
