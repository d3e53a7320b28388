from django_scopes import scopes_disabled

from .models import CrmUser, Organization, User


def active_membership_for(*, user: User, org_slug: str) -> CrmUser | None:
    """The user's active CRM membership of the org with that slug, or None."""
    if not user.is_authenticated:
        return None
    with scopes_disabled():
        return (
            CrmUser.objects.select_related("org")
            .filter(org__slug=org_slug, user=user, status=CrmUser.Status.ACTIVE)
            .first()
        )


def organizations_of(*, user: User) -> list[Organization]:
    """Orgs where the user is an active member: what the org switcher lists."""
    if not user.is_authenticated:
        return []
    with scopes_disabled():
        return list(
            Organization.objects.filter(
                crm_users__user=user, crm_users__status=CrmUser.Status.ACTIVE
            ).order_by("name")
        )
