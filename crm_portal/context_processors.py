from django.utils.functional import SimpleLazyObject

from users.selectors import organizations_of


def tenant(request):
    return {
        "org": getattr(request, "org", None),
        "membership": getattr(request, "membership", None),
        "switchable_orgs": SimpleLazyObject(lambda: organizations_of(user=request.user)),
    }
