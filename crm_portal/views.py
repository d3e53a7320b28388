import logging
import sys

from django.conf import settings
from django.db import connection
from django.http import (
    Http404,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_scopes import scopes_disabled

from records.outbox import outbox_backlog
from users.selectors import organizations_of

from .celery import app as celery_app
from .exceptions import DATABASE_AWAY

logger = logging.getLogger(__name__)


def home(request):
    """Signed in: straight to your organisation. Otherwise: what the product is."""
    if request.user.is_authenticated:
        orgs = organizations_of(user=request.user)
        if orgs:
            return redirect("dashboard", org_slug=orgs[0].slug)
        with scopes_disabled():
            portal_only = request.user.portal_memberships.exists()
        if portal_only:
            # A portal-only account has no CRM page at all (POR-7): its portal is its home.
            raise Http404("No organisation")
        return render(request, "no_organization.html")
    return render(request, "landing.html")


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says: send them to the icon."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@require_POST
def language_set(request):
    """Switch the UI language (X-1); a signed-in person keeps it on their account."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if language in dict(settings.LANGUAGES):
        if request.user.is_authenticated:
            request.user.language = language
            request.user.save(update_fields=["language"])
        translation.activate(language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("healthz: database check failed")
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
        return True
    except Exception:
        logger.exception("healthz: broker check failed")
        return False


def _outbox_details() -> dict:
    """The outbox's lag (AUT-8): events waiting, the oldest one's age, poison events."""
    backlog = outbox_backlog()
    behind = backlog.oldest_pending_seconds > settings.OUTBOX_LAG_ALERT_SECONDS
    return {
        "status": "behind" if behind else "ok",
        "pending": backlog.pending,
        "oldest_pending_seconds": round(backlog.oldest_pending_seconds, 1),
        "failed": backlog.failed,
    }


@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker answer and the outbox keeps up; 503 naming the
    part that does not (the outbox: its oldest pending event is older than
    OUTBOX_LAG_ALERT_SECONDS)."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    body = {name: "ok" if ok else "unavailable" for name, ok in checks.items()}
    failing = [name for name, ok in checks.items() if not ok]
    if checks["database"]:
        body["outbox"] = _outbox_details()
        if body["outbox"]["status"] != "ok":
            failing.append("outbox")
    body["status"] = "ok" if not failing else "failing: " + ", ".join(failing)
    return JsonResponse(body, status=200 if not failing else 503)


RETRY_AFTER_SECONDS = 30


def server_error(request):
    """handler500. The database gone for a moment (a restart, a failover) is not our bug: 503
    with Retry-After, so clients and load balancers try again (issue 16). Anything else: 500.
    JSON under /api/, otherwise a page that needs no database (not even for the signed-in
    user) to render."""
    down = isinstance(sys.exc_info()[1], DATABASE_AWAY)
    if down:
        status = 503
        title = _("Briefly unavailable")
        message = _("The service is briefly unavailable. Try again in a minute.")
    else:
        status = 500
        title = _("Something went wrong")
        message = _("Something went wrong on our side. We have been told; try again later.")
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": message}, status=status)
    else:
        body = loader.get_template("500.html").render({"title": title, "message": message})
        response = HttpResponse(body, status=status)
    if down:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
