"""The user import wizard (IMP-1 … IMP-7) under /o/<org_slug>/users/import/, for members who
may manage users: the shared import wizard's pages for users, and "re-invite the users just
imported" on the result page."""

from django.contrib import messages
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm_portal.exceptions import ActionRefused
from crm_portal.http import client_ip

from .. import permissions
from ..decorators import permission_required
from ..import_forms import OptionsForm
from ..importing import USER_IMPORT as USER_IMPORT_KIND
from ..models import CrmUser, UserImport, UserImportRow
from ..services.members import crm_users_reinvite
from .import_wizard import ImportWizard

manage_users = permission_required(permissions.MANAGE_USERS)


def _just_imported(imp: UserImport):
    """The users this import added who are still waiting for an invitation (IMP-4)."""
    return CrmUser.objects.filter(
        org=imp.org,
        status=CrmUser.Status.UNCONFIRMED,
        pk__in=imp.rows.filter(outcome=UserImportRow.Outcome.ADDED).values("crm_user"),
    )


USER_IMPORT = ImportWizard(
    kind=USER_IMPORT_KIND,
    name="user_import",
    route="users/import/",
    pk_kwarg="import_pk",
    guard=manage_users,
    imports=lambda request: request.org.user_imports.all(),
    title=gettext_lazy("Import users"),
    list_url="user_list",
    upload_note=gettext_lazy(
        "Imported users get no invitation: they wait under Unconfirmed users until you "
        "re-invite them."
    ),
    result_template="users/imports/result.html",
    result_extras=lambda imp: {"reinvitable": _just_imported(imp).count()},
    options_form=lambda request, data, initial: OptionsForm(data, initial=initial),
    sample_name=gettext_lazy("users-sample"),
)


@manage_users
@require_POST
def import_reinvite(request, org_slug, import_pk):
    imp = USER_IMPORT.get_import(request, import_pk)
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
        messages.success(request, _("%(count)s invitation(s) sent.") % {"count": sent})
    return USER_IMPORT.redirect("detail", request, imp)


urlpatterns = [
    *USER_IMPORT.urlpatterns(),
    path("users/import/<int:import_pk>/reinvite/", import_reinvite, name="user_import_reinvite"),
]
