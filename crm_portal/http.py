"""Request helpers every app's views share."""

from django.conf import settings


def client_ip(request) -> str | None:
    """The address the request came from; behind a trusted proxy, its X-Forwarded-For."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


def refusal_to_form(form, refusal) -> None:
    """Show a service's refusal on the form field it concerns (or on the whole form)."""
    field = refusal.field if refusal.field in form.fields else None
    form.add_error(field, refusal.message)
