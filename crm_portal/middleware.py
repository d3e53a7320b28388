from contextlib import nullcontext

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.module_loading import import_string
from django_scopes import scope

from users.preferences import viewer_preferences
from users.selectors import active_membership_for


class UserLanguageMiddleware:
    """A signed-in person sees the UI in the language of their account (X-1)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = getattr(request.user, "language", "")
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


def area_guest_org(user, org_slug: str, url_name: str | None):
    """The org, for someone who is no CRM member of it but whom an area of its pages admits —
    a Campaigns team member in the Campaigns area (issue 15) — as each resolver listed in
    TENANT_AREA_GUESTS says; None for anyone else. request.membership stays None there."""
    for path in settings.TENANT_AREA_GUESTS:
        org = import_string(path)(user=user, org_slug=org_slug, url_name=url_name or "")
        if org is not None:
            return org
    return None


class TenantMiddleware:
    """Resolves `/o/<org_slug>/...` once: sets request.org and request.membership for an
    active member, answers 404 to anyone else (no existence oracle), and runs the view inside
    the org's django-scopes scope, so a tenant query that forgets the org raises. Its pages
    are never cached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.org = None
        request.membership = None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            match = None
        org_slug = match.kwargs.get("org_slug") if match else None
        if org_slug is None:
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = active_membership_for(user=request.user, org_slug=org_slug)
        if membership is not None:
            request.org = membership.org
        else:
            request.org = area_guest_org(request.user, org_slug, match.url_name)
        if request.org is None:
            raise Http404("No such organisation")
        request.membership = membership
        # Dates and times on the page follow the viewer's preferences (USR-6).
        preferences = viewer_preferences(membership) if membership else nullcontext()
        with scope(org=request.org), preferences:
            response = self.get_response(request)
        # An org's pages hold its data: no shared cache keeps them, no browser stores them.
        patch_cache_control(response, private=True, no_store=True)
        return response
