"""The home page of an organisation: what a member works on, and for admins how the
organisation is doing — licences, invitations, imports, the audit log. A bounded number of
queries, however much the organisation holds."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from records.selectors import dashboard_records, recent_contact_imports

from .. import permissions
from ..audit import action_label, audit_sentence
from ..selectors import (
    dashboard_people,
    recent_audit_entries,
    recent_user_imports,
)


@require_GET
def dashboard(request, org_slug):
    membership = request.membership
    context = {"records": dashboard_records(membership=membership)}
    if membership.can(permissions.MANAGE_USERS):  # what the users and audit pages need
        context["admin"] = _admin_cards(request.org)
    return render(request, "users/dashboard.html", context)


def _admin_cards(org) -> dict:
    imports = [("users", imp) for imp in recent_user_imports(org=org)]
    imports += [("contacts", imp) for imp in recent_contact_imports(org=org)]
    imports.sort(key=lambda item: item[1].created_at, reverse=True)
    return {
        "people": dashboard_people(org=org),
        "imports": imports[:3],
        "audit": [
            (entry, action_label(entry.action), audit_sentence(entry.action, entry.details))
            for entry in recent_audit_entries(org=org)
        ],
    }
