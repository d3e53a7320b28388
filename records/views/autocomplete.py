"""Autocomplete endpoints for the bounded pickers (issue 21, crm_portal/widgets.py): `?q=`
searches on the server and at most PAGE_SIZE results come back (`?page=` for more), as
<li role="option"> fragments for htmx or as JSON. Each answers within the org of the URL and
only what the member may see: records through the USR-2 selectors, territories to those who
run the team (USR-3, USR-8)."""

from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from crm_portal.countries import countries_matching
from crm_portal.params import page_param, text_param
from users import permissions
from users.decorators import member_passes, permission_required
from users.selectors import users_list

from ..selectors import accounts_visible_to

PAGE_SIZE = 20
any_member = member_passes(lambda membership: True)


def _answer(request, rows):
    """One page of (value, label, detail) rows: a fragment for htmx, JSON otherwise."""
    page = page_param(request.GET)
    start = (page - 1) * PAGE_SIZE
    found = list(rows[start : start + PAGE_SIZE + 1])
    more, found = len(found) > PAGE_SIZE, found[:PAGE_SIZE]
    if request.htmx:
        return render(request, "includes/combobox_options.html", {"options": found, "more": more})
    return JsonResponse(
        {
            "results": [
                {"value": str(value), "label": str(label), "detail": str(detail)}
                for value, label, detail in found
            ],
            "page": page,
            "more": more,
        }
    )


class _Rows:
    """A queryset read as (value, label, detail) rows, sliced before it is run."""

    def __init__(self, queryset, detail=lambda obj: ""):
        self.queryset, self.detail = queryset, detail

    def __getitem__(self, window):
        return [(obj.pk, str(obj), self.detail(obj)) for obj in self.queryset[window]]


@any_member
@require_GET
def autocomplete_members(request, org_slug):
    """Active CRM users by name or email (owners, REC-5); Japanese names are matched as
    typed."""
    members = users_list(
        org=request.org, status="active", query=text_param(request.GET, "q", max_length=100)
    ).select_related(None)
    return _answer(request, _Rows(members, lambda m: m.email if m.full_name else ""))


@any_member
@require_GET
def autocomplete_accounts(request, org_slug):
    """The accounts this member may see (USR-2) by name or website."""
    query = text_param(request.GET, "q", max_length=100)
    accounts = accounts_visible_to(membership=request.membership)
    if query:
        accounts = accounts.filter(Q(name__icontains=query) | Q(website__icontains=query))
    return _answer(request, _Rows(accounts.order_by("name", "pk"), lambda a: a.website))


@permission_required(permissions.MANAGE_USERS)
@require_GET
def autocomplete_territories(request, org_slug):
    """The org's territories by name (USR-8), for those who assign them (USR-3)."""
    query = text_param(request.GET, "q", max_length=100)
    territories = request.org.territories.select_related("parent").order_by("name", "pk")
    if query:
        territories = territories.filter(name__icontains=query)
    return _answer(request, _Rows(territories, lambda t: t.parent.name if t.parent else ""))


@any_member
@require_GET
def autocomplete_countries(request, org_slug):
    """Countries by name in the viewer's language, English name or ISO code."""
    found = countries_matching(text_param(request.GET, "q", max_length=100))
    return _answer(request, [(code, name, code) for code, name in found])
