"""The idle session timeout (X-3): an organisation may sign its people out after a number of
minutes without a request. The time of each request is kept in the session; the next request
after a longer gap signs the person out and sends them to sign in, saying why."""

import time

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.utils.translation import ngettext
from django_htmx.http import HttpResponseClientRedirect

from .models import Organization
from .selectors import organizations_of

LAST_ACTIVITY_KEY = "idle_timeout_last_activity"


def now() -> float:
    """The clock the timeout reads, in seconds (tests move it by replacing this function)."""
    return time.time()


def idle_timeout_check(request, org: Organization | None) -> HttpResponse | None:
    """X-3 for one request of a signed-in person whose sessions follow `org`'s timeout:
    None to let the request through (its time is noted), or the response that signs them
    out. The org is a parameter, not read from the request, so that the portal site applies
    the same rule to portal users: its middleware calls this with the org of the portal."""
    minutes = org.idle_timeout_minutes if org is not None else None
    if not minutes:
        request.session.pop(LAST_ACTIVITY_KEY, None)
        return None
    current, last = now(), request.session.get(LAST_ACTIVITY_KEY)
    if isinstance(last, int | float) and current - last > minutes * 60:
        return _sign_out(request, minutes)
    request.session[LAST_ACTIVITY_KEY] = current
    return None


def _sign_out(request, minutes: int) -> HttpResponse:
    logout(request)
    messages.info(
        request,
        ngettext(
            "You were signed out after %(count)s minute without activity.",
            "You were signed out after %(count)s minutes without activity.",
            minutes,
        )
        % {"count": minutes},
    )
    to_sign_in = redirect_to_login(request.get_full_path())
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(to_sign_in.url)
    return to_sign_in


class IdleTimeoutMiddleware:
    """X-3 for CRM users: on an org's pages the org is the page's (request.org, set by the
    tenant middleware that runs first); elsewhere (account pages, say) it is the org the
    person is an active member of (ORG-4: at most one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The portal site applies the portal's org itself (portals.site_access).
        if request.user.is_authenticated and not request.path_info.startswith("/portal/"):
            org = getattr(request, "org", None) or _membership_org(request.user)
            signed_out = idle_timeout_check(request, org)
            if signed_out is not None:
                return signed_out
        return self.get_response(request)


def _membership_org(user) -> Organization | None:
    orgs = organizations_of(user=user)
    return orgs[0] if orgs else None
