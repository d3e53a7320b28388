import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django_scopes import scopes_disabled

from .models import CrmUser, Organization, User


def _unique_org_slug(name: str) -> str:
    base = slugify(name)[:50].strip("-") or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


@transaction.atomic
def organization_create(
    *, name: str, owner: User, first_name: str = "", last_name: str = ""
) -> Organization:
    """Create an org with `owner` as its active super admin (ORG-1). It starts unverified."""
    org = Organization.objects.create(name=name.strip(), slug=_unique_org_slug(name))
    with scopes_disabled():
        CrmUser.objects.create(
            org=org,
            user=owner,
            email=owner.email,
            first_name=first_name.strip(),
            last_name=last_name.strip() or owner.email.split("@")[0],
            status=CrmUser.Status.ACTIVE,
            is_super_admin=True,
        )
    return org


def organizations_verify_for_email(*, user: User, email: str) -> list[Organization]:
    """Mark every unverified org whose super admin is `user` as verified (ORG-2).

    Only the address the org was created with counts: confirming a secondary address
    verifies nothing.
    """
    if email.lower() != user.email.lower():
        return []
    with scopes_disabled():
        orgs = list(
            Organization.objects.filter(
                verified_at__isnull=True,
                crm_users__user=user,
                crm_users__is_super_admin=True,
            )
        )
    Organization.objects.filter(pk__in=[o.pk for o in orgs]).update(verified_at=timezone.now())
    return orgs
