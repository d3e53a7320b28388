"""The JSON API (REC-4): per-org tokens, bearer authentication, a per-token rate limit and the
contacts endpoints an integration uses. A token acts for its organisation as a whole, so
records written through it carry no actor and their events the source "api" (REC-3).

Contact JSON: `id`, every field of field_specs(org, "contacts") under its key at the top level
(custom fields too: their keys never collide with the standard ones), `owner` and `account`
(ids or null), `created_at` and `updated_at` (ISO 8601, UTC). Errors: `{"error": "..."}` for
401, 404, 405, 413, 415 and 429; `{"errors": {"field": ["message", ...]}}` for 400 ("__all__"
when the body itself is wrong). Values are checked by their field's JSON type first
(records.fields.clean_json_value). records/openapi.py describes all of it, exactly."""

import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from datetime import UTC, timedelta
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.csrf import csrf_exempt
from django_scopes import scope, scopes_disabled

from crm_portal.exceptions import CACHE_UNREACHABLE
from crm_portal.params import BadParameter, strict_int_param, strict_text_param
from users.audit import audit_log_write
from users.models import CrmUser, Organization

from .fields import CHECKBOX, MULTISELECT, FieldSpec, clean_json_value, parse_json_datetime
from .models import ApiToken, Contact, RecordEvent
from .modules import RELATIONS, field_specs
from .openapi import MAX_PAGE_SIZE, max_length_of, openapi_document
from .services import contact_create, contact_update

SECRET_PREFIX = "crm_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
DEFAULT_PAGE_SIZE = 50
READ_ONLY_KEYS = ("id", "created_at", "updated_at")
# An error answer names at most this many unknown keys, each cut to KEY_SHOWN characters: a
# body of a million keys gets a short answer.
MAX_NAMED_UNKNOWN_KEYS = 10
KEY_SHOWN = 100
SINCE_MESSAGE = gettext_lazy("Give a date and time like 2026-12-31T14:30:00Z.")

logger = logging.getLogger(__name__)


# --- tokens (services) ------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_admin(*, org: Organization, actor: CrmUser | None) -> None:
    if actor is None or actor.org_id != org.pk or not actor.is_admin:
        raise PermissionDenied


@transaction.atomic
def api_token_create(
    *, org: Organization, actor: CrmUser, name: str, ip: str | None = None
) -> tuple[ApiToken, str]:
    """A new token and its secret. The secret is returned once and never stored: only its
    SHA-256 and its first characters are kept."""
    _require_admin(org=org, actor=actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the token a name.")]})
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        org=org,
        name=name,
        token_prefix=secret[: ApiToken.PREFIX_LENGTH],
        token_hash=_digest(secret),
        created_by=actor,
    )
    audit_log_write(
        org=org,
        actor=actor,
        action="api_token_create",
        details={"name": token.name, "prefix": token.token_prefix},
        ip=ip,
    )
    return token, secret


@transaction.atomic
def api_token_revoke(
    *, org: Organization, actor: CrmUser, token: ApiToken, ip: str | None = None
) -> ApiToken:
    """The token stops working at once. Revoking a revoked token changes nothing."""
    _require_admin(org=org, actor=actor)
    if token.org_id != org.pk:
        raise PermissionDenied
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_log_write(
            org=org,
            actor=actor,
            action="api_token_revoke",
            details={"name": token.name, "prefix": token.token_prefix},
            ip=ip,
        )
    return token


def api_token_authenticate(authorization: str) -> ApiToken | None:
    """The live token an `Authorization: Bearer <secret>` header names, or None. Tokens span
    tenants until found: the token is what tells the org."""
    scheme, _space, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(SECRET_PREFIX):
        return None
    digest = _digest(secret)
    with scopes_disabled():
        token = (
            ApiToken.objects.select_related("org")
            .filter(token_hash=digest, revoked_at__isnull=True)
            .first()
        )
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    return token


def api_token_touch(token: ApiToken) -> None:
    """Record use at most once a minute per token: no write on every request."""
    now = timezone.now()
    stale = now - LAST_USED_RESOLUTION
    if token.last_used_at is not None and token.last_used_at > stale:
        return
    with scopes_disabled():
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale)
        ).update(last_used_at=now)


def api_rate_count(token: ApiToken) -> tuple[int, int]:
    """Count this request in the token's fixed one-minute window (in the shared cache, so
    every web process sees the same count): (requests so far, seconds until the window ends).

    An unreachable cache (Redis down) counts nothing rather than refusing the request: records
    keep arriving while Redis is away (issue 16), at the price of an unmetered minute."""
    now = time.time()
    window = int(now // 60)
    resets_in = max(1, math.ceil((window + 1) * 60 - now))
    key = f"api-rate:{token.pk}:{window}"
    try:
        cache.add(key, 0, timeout=120)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=120)
            count = 1
    except CACHE_UNREACHABLE as error:
        logger.warning("API rate limit not counted, the cache is unreachable: %s", error)
        return 0, resets_in
    return count, resets_in


# --- request plumbing -----------------------------------------------------------------------


class UnsupportedMediaType(Exception):
    """A body that is not declared as JSON (answered 415)."""


def _error(status: int, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _not_found() -> JsonResponse:
    return _error(404, _("Not found."))


def _invalid(error: ValidationError) -> JsonResponse:
    errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    return JsonResponse({"errors": errors}, status=400)


def _token_or_401(request) -> ApiToken | JsonResponse:
    header = request.headers.get("Authorization", "")
    if not header.strip():
        return _error(
            401,
            _("Send your API token in the header “Authorization: Bearer <token>”."),
            WWW_Authenticate='Bearer realm="api"',
        )
    token = api_token_authenticate(header)
    if token is None:
        return _error(
            401,
            _("The API token is unknown or has been revoked."),
            WWW_Authenticate='Bearer realm="api", error="invalid_token"',
        )
    return token


def api_endpoint(*methods: str):
    """Token authentication, the rate limit, the allowed methods, then the view inside the
    token's org scope as view(request, org, ...). A ValidationError becomes a 400."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            token = _token_or_401(request)
            if not isinstance(token, ApiToken):
                return token
            limit = settings.API_RATE_LIMIT_PER_MINUTE
            count, resets_in = api_rate_count(token)
            if count > limit:
                message = _(
                    "Too many requests: this token may make %(limit)s requests a minute. "
                    "Try again in %(seconds)s seconds."
                ) % {"limit": limit, "seconds": resets_in}
                return _error(429, message, Retry_After=str(resets_in))
            if request.method not in methods:
                return _error(405, _("Method not allowed."), Allow=", ".join(methods))
            with scope(org=token.org):
                api_token_touch(token)
                try:
                    request.api_token = token
                    response = view(request, token.org, *args, **kwargs)
                except ValidationError as error:
                    response = _invalid(error)
                except BadParameter as error:
                    response = JsonResponse({"errors": {error.name: [error.message]}}, status=400)
                except UnsupportedMediaType:
                    response = _error(
                        415, _("Send the body as JSON, with “Content-Type: application/json”.")
                    )
                except RequestDataTooBig:
                    response = _error(
                        413,
                        _("The body is too large: send at most %(limit)s bytes.")
                        % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
                    )
            response["X-RateLimit-Limit"] = str(limit)
            response["X-RateLimit-Remaining"] = str(max(0, limit - count))
            return response

        return wrapped

    return decorator


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity, which Python would accept


def _payload(request, specs: dict[str, FieldSpec], *, creating: bool) -> dict:
    """The body as {field: value}, read-only keys dropped; refused when it is not a JSON
    object, names an unknown field, lacks a required one (creating) or a value does not have
    its field's JSON type (records.fields.clean_json_value): every value is checked by its
    declared type before the service sees any."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType
    try:
        data = json.loads(request.body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ValidationError({"__all__": [_("The body is not valid JSON.")]}) from None
    if not isinstance(data, dict):
        raise ValidationError(
            {"__all__": [_("The body must be a JSON object of field names and values.")]}
        )
    data = {key: value for key, value in data.items() if key not in READ_ONLY_KEYS}
    _refuse_many_unknown_keys(data, specs)
    missing = [k for k, spec in specs.items() if creating and spec.required and k not in data]
    errors = {}
    for key, value in [*data.items(), *((key, None) for key in missing)]:
        try:
            if key in specs:
                clean_json_value(specs[key], value, max_length=max_length_of(specs[key]))
            elif key in RELATIONS["contacts"]:
                _check_relation(key, value)
            else:
                raise ValidationError(_("There is no field %(field)s.") % {"field": key})
        except ValidationError as error:
            errors[key] = error.messages
    if errors:
        raise ValidationError(errors)
    return data


def _check_relation(key: str, value) -> None:
    """An owner or account is an id (an integer) or null; which ids exist the service says."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        label = _("owner") if key == "owner" else pgettext("crm record", "account")
        raise ValidationError(
            _("Choose a valid %(field)s of this organisation.") % {"field": label}
        )


def _refuse_many_unknown_keys(data: dict, specs: dict[str, FieldSpec]) -> None:
    """A few unknown keys are named with everything else wrong (_payload); many, or absurdly
    long ones, get a short answer naming the first few."""
    unknown = [key for key in data if key not in specs and key not in RELATIONS["contacts"]]
    if len(unknown) <= MAX_NAMED_UNKNOWN_KEYS and all(len(k) <= KEY_SHOWN for k in unknown):
        return
    errors = {
        key[:KEY_SHOWN]: [_("There is no field %(field)s.") % {"field": key[:KEY_SHOWN]}]
        for key in unknown[:MAX_NAMED_UNKNOWN_KEYS]
    }
    if len(unknown) > MAX_NAMED_UNKNOWN_KEYS:
        errors["__all__"] = [
            _("The body has %(count)s fields that do not exist; the first %(shown)s are named.")
            % {"count": len(unknown), "shown": MAX_NAMED_UNKNOWN_KEYS}
        ]
    raise ValidationError(errors)


# --- contacts ---------------------------------------------------------------------------------


def _iso(value) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _blank(spec: FieldSpec):
    return [] if spec.type == MULTISELECT else (False if spec.type == CHECKBOX else None)


def contact_json(contact: Contact, specs: dict[str, FieldSpec]) -> dict:
    custom = contact.custom or {}
    data = {"id": contact.pk}
    for key, spec in specs.items():
        data[key] = custom.get(key, _blank(spec)) if spec.custom else getattr(contact, key, None)
    data.update(
        owner=contact.owner_id,
        account=contact.account_id,
        created_at=_iso(contact.created_at),
        updated_at=_iso(contact.updated_at),
    )
    return data


def _specs(org) -> dict[str, FieldSpec]:
    return {spec.key: spec for spec in field_specs(org, "contacts")}


def _page_url(request, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def _contact_list(request, org) -> JsonResponse:
    params = request.GET
    message = _("Give a whole number from 1 to 1,000,000.")
    page = strict_int_param(params, "page", 1, message=message)
    size = min(
        strict_int_param(params, "page_size", DEFAULT_PAGE_SIZE, message=message), MAX_PAGE_SIZE
    )
    contacts = org.contacts.order_by("pk")
    email = strict_text_param(params, "email", max_length=254, message=_text_param_message(254))
    if email is not None:
        contacts = contacts.filter(email=email.lower())
    since = strict_text_param(params, "updated_since", max_length=40, message=SINCE_MESSAGE)
    if since is not None:
        contacts = contacts.filter(updated_at__gte=_since(since))
    count = contacts.count()
    start = (page - 1) * size
    specs = _specs(org)
    return JsonResponse(
        {
            "count": count,
            "next": _page_url(request, page + 1) if start + size < count else None,
            "previous": _page_url(request, page - 1) if page > 1 else None,
            "results": [contact_json(c, specs) for c in contacts[start : start + size]],
        }
    )


def _text_param_message(limit: int) -> str:
    return _("Give a value of 1 to %(limit)s characters, without NUL.") % {"limit": limit}


def _since(raw: str):
    """The same rule as a date-time field's (records.fields), answered as a bad parameter."""
    try:
        return parse_json_datetime("updated_since", raw)
    except ValidationError as error:
        raise BadParameter("updated_since", error.messages[0]) from None


def _contact_create(request, org) -> JsonResponse:
    specs = _specs(org)
    data = _payload(request, specs, creating=True)
    # REC-5: a contact the body gives no owner belongs to whoever created the token.
    contact = contact_create(
        org=org,
        actor=None,
        data=data,
        source=RecordEvent.Source.API,
        default_owner=request.api_token.created_by,
    )
    response = JsonResponse(contact_json(contact, specs), status=201)
    response["Location"] = request.build_absolute_uri(
        reverse("api_contact", kwargs={"contact_id": contact.pk})
    )
    return response


@api_endpoint("GET", "POST")
def api_contacts(request, org):
    if request.method == "POST":
        return _contact_create(request, org)
    return _contact_list(request, org)


@api_endpoint("GET", "PATCH")
def api_contact(request, org, contact_id):
    contact = org.contacts.filter(pk=contact_id).first()
    if contact is None:
        return _not_found()
    specs = _specs(org)
    if request.method == "PATCH":
        data = _payload(request, specs, creating=False)
        contact_update(contact=contact, actor=None, data=data, source=RecordEvent.Source.API)
        contact = org.contacts.get(pk=contact.pk)
    return JsonResponse(contact_json(contact, specs))


# --- unauthenticated ----------------------------------------------------------------------------


@csrf_exempt  # answers with a document and never reads the session
def api_openapi(request):
    """The general description, or with a token its organisation's (custom fields, ids)."""
    if request.method != "GET":
        return _error(405, _("Method not allowed."), Allow="GET")
    if not request.headers.get("Authorization", "").strip():
        document = openapi_document()
    else:
        token = _token_or_401(request)
        if not isinstance(token, ApiToken):
            return token
        with scope(org=token.org):
            document = openapi_document(token.org)
    response = JsonResponse(document, json_dumps_params={"ensure_ascii": False})
    patch_vary_headers(response, ["Authorization"])
    return response


@csrf_exempt
def api_not_found(request, path=""):
    return _not_found()
