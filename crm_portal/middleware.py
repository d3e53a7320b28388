from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.cache import patch_cache_control
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
            org_slug = resolve(request.path_info).kwargs.get("org_slug")
        except Resolver404:
            org_slug = None
        if org_slug is None:
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = active_membership_for(user=request.user, org_slug=org_slug)
        if membership is None:
            raise Http404("No such organisation")
        request.org = membership.org
        request.membership = membership
        # Dates and times on the page follow the viewer's preferences (USR-6).
        with scope(org=request.org), viewer_preferences(membership):
            response = self.get_response(request)
        # An org's pages hold its data: no shared cache keeps them, no browser stores them.
        patch_cache_control(response, private=True, no_store=True)
        return response
