from functools import wraps

from django.core.exceptions import PermissionDenied


def permission_required(permission: str):
    """For views under /o/<org_slug>/: a member without `permission` gets 403 (the tenant
    middleware has already answered 404 to non-members)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.membership is None or not request.membership.can(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def client_ip(request) -> str | None:
    """The address the request came from; behind a trusted proxy, its X-Forwarded-For."""
    from django.conf import settings

    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


def refusal_to_form(form, refusal) -> None:
    """Show a service's refusal on the form field it concerns (or on the whole form)."""
    field = refusal.field if refusal.field in form.fields else None
    form.add_error(field, refusal.message)
