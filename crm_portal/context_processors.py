from django.utils.functional import SimpleLazyObject

from users.selectors import navigation_membership, organizations_of


def tenant(request):
    """The org of the URL as `org`/`membership`, and `nav_org`/`nav_membership` for the
    header: the same on org pages, the user's own org elsewhere, so allauth's account pages
    keep the app navigation (X-1)."""
    org = getattr(request, "org", None)
    membership = getattr(request, "membership", None)
    nav_membership = membership
    user = getattr(request, "user", None)
    if nav_membership is None and user is not None and user.is_authenticated:
        nav_membership = navigation_membership(user=user)
    return {
        "org": org,
        "membership": membership,
        "nav_org": nav_membership.org if nav_membership else None,
        "nav_membership": nav_membership,
        "switchable_orgs": _switchable_orgs(request, nav_membership),
    }


def _switchable_orgs(request, nav_membership):
    """The orgs the header's switcher lists. A person is an active member of one org at a
    time (ORG-4, the crmuser_active_in_one_org constraint), and nav_membership is active: so
    with one the list is its org, known without a statement on every page (issue 21)."""
    if nav_membership is not None:
        return [nav_membership.org]
    return SimpleLazyObject(lambda: organizations_of(user=request.user))


def csp_nonce(request):
    """The request's Content-Security-Policy nonce as `csp_nonce`, the name django-htmx's
    script tag reads; using it puts the nonce in the header (X-7)."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
