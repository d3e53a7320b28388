"""Licences (ORG-5): who occupies one, and the refusal when none is left."""

from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused

from ..models import Organization
from ..selectors import licences_used


def licence_require_free(org: Organization) -> None:
    """Call with the org locked (organization_lock) so two adds can't take the last one."""
    used, limit = licences_used(org), org.licence_limit
    if used >= limit:
        raise ActionRefused(
            _(
                "No licence left: %(used)s of %(limit)s in use. Deactivate a user or buy more "
                "licences."
            )
            % {"used": used, "limit": limit}
        )
