"""One decorator family for views under /o/<org_slug>/: the tenant middleware has already
answered 404 to non-members; a member the rule refuses gets 403."""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied

from .models import CrmUser


def member_passes(test: Callable[[CrmUser], bool]):
    """The view runs only for a member for whom `test(membership)` holds: 403 otherwise."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.membership is None or not test(request.membership):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def permission_required(permission: str):
    """A member whose profile lacks `permission` gets 403 (USR-1)."""
    return member_passes(lambda membership: membership.can(permission))


# The Administrator profile (or the super admin) only: settings that act for the whole org.
admin_required = member_passes(lambda membership: membership.is_admin)
