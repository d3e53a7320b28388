"""Who may see a portal's pages (POR-1, POR-7): the portal of the URL, its portal user.

`portal_page` wraps every page of the portal site: it resolves the portal by slug (404 when
unknown), answers a disabled portal with its "closed" page (403), runs the view in the
language of the portal user (or the portal's default) and inside the org's django-scopes
scope, and applies the org's idle timeout (X-3). `portal_public` does the same for the pages
an anonymous visitor reaches (sign-in, the theme); `portal_page` also requires a portal user
of this portal, ACTIVE or LOGIN_PENDING: an anonymous visitor goes to the portal's sign-in
page, anyone else gets 404.
"""

from functools import wraps
from urllib.parse import urlencode

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django_scopes import scope, scopes_disabled

from users.middleware import idle_timeout_check

from .models import Portal, PortalUser

SIGNED_IN_STATUSES = (PortalUser.Status.ACTIVE, PortalUser.Status.LOGIN_PENDING)


def portal_or_404(slug: str) -> Portal:
    with scopes_disabled():
        portal = Portal.objects.select_related("org").filter(slug=slug).first()
    if portal is None:
        raise Http404("No such portal")
    return portal


def portal_user_for(portal: Portal, user) -> PortalUser | None:
    """The signed-in person's portal user of this portal, if it may sign in (POR-4)."""
    if not user.is_authenticated:
        return None
    with scope(org=portal.org):
        found = (
            PortalUser.objects.select_related("group", "contact")
            .filter(portal=portal, user=user, status__in=SIGNED_IN_STATUSES)
            .first()
        )
    if found is not None:
        # The rows share the portal and org the page already loaded: no query for them.
        found.portal = portal
        found.org = portal.org
        found.group.portal = portal
    return found


def visitor_language(request, portal: Portal, portal_user: PortalUser | None) -> str:
    """The portal user's language when the portal offers it, else the visitor's browser or
    cookie language when offered, else the portal's default (POR-6, X-1)."""
    if portal_user is not None:
        return portal.language_for(portal_user.language)
    return portal.language_for(translation.get_language_from_request(request))


def sign_in_url(portal: Portal, next_url: str = "") -> str:
    url = reverse("portal_login", kwargs={"portal_slug": portal.slug})
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def closed_page(request, portal: Portal):
    """A disabled portal, on every page and at sign-in (POR-1)."""
    return render(request, "portals/site/closed.html", {"portal": portal}, status=403)


def not_found_page(request, portal: Portal, portal_user: PortalUser | None = None):
    """The portal's own 404 page: the same for an unknown record and one outside the
    user's slice (no existence oracle)."""
    context = {"portal": portal, "portal_user": portal_user}
    return render(request, "portals/site/not_found.html", context, status=404)


def _run(request, portal, portal_user, view, kwargs):
    request.portal = portal
    request.portal_user = portal_user
    language = visitor_language(request, portal, portal_user)
    with translation.override(language), scope(org=portal.org):
        request.LANGUAGE_CODE = language
        if not portal.is_enabled:
            response = closed_page(request, portal)
        else:
            response = view(request, portal=portal, portal_user=portal_user, **kwargs)
    response.headers.setdefault("Content-Language", language)
    return response


def _idle_timeout(request, portal: Portal):
    """X-3 with the org of the portal; a signed-out visitor goes to this portal's sign-in."""
    if not request.user.is_authenticated:
        return None
    signed_out = idle_timeout_check(request, portal.org)
    if signed_out is None:
        return None
    return HttpResponseRedirect(sign_in_url(portal, request.get_full_path()))


def portal_public(view):
    """A portal page anyone may open: sign-in, sign-out."""

    @wraps(view)
    def wrapper(request, portal_slug: str, **kwargs):
        portal = portal_or_404(portal_slug)
        signed_out = _idle_timeout(request, portal)
        if signed_out is not None:
            return signed_out
        portal_user = portal_user_for(portal, request.user)
        response = _run(request, portal, portal_user, view, kwargs)
        patch_cache_control(response, private=True, no_store=True)
        return response

    return wrapper


def portal_page(view):
    """A page of a portal's users: see the module docstring."""

    @wraps(view)
    def wrapper(request, portal_slug: str, **kwargs):
        portal = portal_or_404(portal_slug)
        if not portal.is_enabled:
            return _run(request, portal, None, view, kwargs)
        signed_out = _idle_timeout(request, portal)
        if signed_out is not None:
            return signed_out
        if not request.user.is_authenticated:
            return HttpResponseRedirect(sign_in_url(portal, request.get_full_path()))
        portal_user = portal_user_for(portal, request.user)
        if portal_user is None:
            # Signed in, but not (or no longer) a user of this portal: nothing here exists.
            with translation.override(visitor_language(request, portal, None)):
                response = not_found_page(request, portal)
            patch_cache_control(response, private=True, no_store=True)
            return response
        response = _run(request, portal, portal_user, view, kwargs)
        # A portal's pages hold the org's data: nobody keeps them.
        patch_cache_control(response, private=True, no_store=True)
        return response

    return wrapper
