from django.utils.functional import SimpleLazyObject

from users.selectors import organizations_of


def tenant(request):
    return {
        "org": getattr(request, "org", None),
        "membership": getattr(request, "membership", None),
        "switchable_orgs": SimpleLazyObject(lambda: organizations_of(user=request.user)),
    }


def csp_nonce(request):
    """The request's Content-Security-Policy nonce as `csp_nonce`, the name django-htmx's
    script tag reads; using it puts the nonce in the header (X-7)."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
