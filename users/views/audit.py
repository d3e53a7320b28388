"""The audit log page (USR-9): who did what to whom, when and from which IP; filterable,
paginated and exportable as CSV."""

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from imports.spreadsheets import write_csv

from .. import permissions
from ..decorators import permission_required
from ..models import AuditLogEntry, CrmUser
from ..preferences import format_datetime
from ..selectors import audit_entries

PAGE_SIZE = 50

ACTION_LABELS = {
    "user.added": _("User added"),
    "user.reinvited": _("User re-invited"),
    "user.access_changed": _("Role or profile changed"),
    "user.details_changed": _("User details changed"),
    "user.deactivated": _("User deactivated"),
    "user.activated": _("User activated"),
    "user.deleted": _("User deleted"),
    "user.left": _("User left the organisation"),
    "user.imported": _("User added by an import"),
    "customfield.created": _("Custom field created"),
    "customfield.changed": _("Custom field changed"),
    "customfield.deleted": _("Custom field deleted"),
    "fieldlayout.changed": _("Field layout changed"),
    "api_token_create": _("API token created"),
    "api_token_revoke": _("API token revoked"),
    "user.updated_by_import": _("User updated by an import"),
    "super_admin.transferred": _("Super admin role transferred"),
    "invitation.accepted": _("Invitation accepted"),
    "profile.created": _("Profile created"),
    "profile.changed": _("Profile changed"),
    "profile.deleted": _("Profile deleted"),
    "role.created": _("Role created"),
    "role.changed": _("Role changed"),
    "role.deleted": _("Role deleted"),
    "territories.enabled": _("Territories turned on"),
    "territories.disabled": _("Territories turned off"),
    "territory.created": _("Territory created"),
    "territory.changed": _("Territory changed"),
    "territory.deleted": _("Territory deleted"),
}


def action_label(code: str) -> str:
    """The translated label of an action code; an unknown code is shown as it is."""
    return str(ACTION_LABELS.get(code, code))


def details_text(details: dict) -> str:
    def shown(value):
        if isinstance(value, dict):
            return ", ".join(f"{k}: {shown(v)}" for k, v in value.items())
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return "—" if value is None else str(value)

    return "; ".join(f"{key}: {shown(value)}" for key, value in (details or {}).items())


class AuditLogFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.ModelChoiceField(
        label=_("Who"), queryset=CrmUser.objects.none(), required=False, empty_label=_("Anyone")
    )
    target = forms.CharField(label=_("Whom"), required=False, max_length=100)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].queryset = CrmUser.objects.filter(org=org).order_by(
            "last_name", "first_name", "pk"
        )
        logged = AuditLogEntry.objects.filter(org=org).order_by().values_list("action", flat=True)
        codes = set(ACTION_LABELS) | set(logged.distinct())
        choices = sorted(((code, action_label(code)) for code in codes), key=lambda c: c[1])
        self.fields["action"].choices = [("", _("Any action")), *choices]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> dict:
        """The valid filters as selector arguments; an invalid one is shown with its error
        and ignored."""
        if not self.is_bound:
            return {}
        self.is_valid()
        names = ("action", "actor", "target", "date_from", "date_to")
        return {name: self.cleaned_data[name] for name in names if self.cleaned_data.get(name)}


def _filtered(request):
    form = AuditLogFilterForm(request.GET or None, org=request.org)
    return form, audit_entries(org=request.org, **form.filters())


@require_GET
@permission_required(permissions.MANAGE_USERS)
def audit_log(request, org_slug):
    form, entries = _filtered(request)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
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


urlpatterns = [
    path("settings/audit-log/", audit_log, name="audit_log"),
    path("settings/audit-log/export.csv", audit_log_export, name="audit_log_export"),
]
