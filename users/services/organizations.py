"""Organisations (ORG-1, ORG-2, ORG-4): creation with their built-ins, verification, the lock
that serialises an org's licence-counting writes, and deletion after a final export."""

import secrets

from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from crm_portal.exceptions import ActionRefused
from crm_portal.mail import mail_enqueue

from .. import permissions
from ..models import CrmUser, Organization, Profile, Role, User
from ..selectors import organization_export


def _unique_org_slug(name: str) -> str:
    base = slugify(name)[:50].strip("-") or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def organization_defaults_create(*, org: Organization) -> tuple[Profile, Role]:
    """Built-in profiles (USR-1) and the CEO → Manager roles (USR-2, IMP-3) of a new org."""
    with scopes_disabled():
        admin = Profile.objects.create(
            org=org,
            name="Administrator",
            builtin=Profile.ADMINISTRATOR,
            permissions=sorted(permissions.ALL_CODES),
        )
        Profile.objects.create(
            org=org,
            name="Standard",
            builtin=Profile.STANDARD,
            permissions=permissions.STANDARD_PERMISSIONS,
        )
        ceo = Role.objects.create(org=org, name="CEO")
        Role.objects.create(org=org, name="Manager", parent=ceo)
    return admin, ceo


@transaction.atomic
def organization_create(
    *, name: str, owner: User, first_name: str = "", last_name: str = ""
) -> Organization:
    """Create an org with `owner` as its active super admin (ORG-1). It starts unverified."""
    org = Organization.objects.create(name=name.strip(), slug=_unique_org_slug(name))
    admin_profile, top_role = organization_defaults_create(org=org)
    with scopes_disabled():
        CrmUser.objects.create(
            org=org,
            user=owner,
            email=owner.email,
            first_name=first_name.strip(),
            last_name=last_name.strip() or owner.email.split("@")[0],
            status=CrmUser.Status.ACTIVE,
            is_super_admin=True,
            profile=admin_profile,
            role=top_role,
            language=owner.language or "en",
        )
    return org


def organizations_verify_for_email(*, user: User, email: str) -> list[Organization]:
    """Mark every unverified org whose super admin is `user` as verified (ORG-2).
    Only the address the account signed up with counts."""
    if email.lower() != user.email.lower():
        return []
    with scopes_disabled():
        orgs = list(
            Organization.objects.filter(
                verified_at__isnull=True, crm_users__user=user, crm_users__is_super_admin=True
            )
        )
    Organization.objects.filter(pk__in=[o.pk for o in orgs]).update(verified_at=timezone.now())
    return orgs


def organization_lock(org: Organization) -> Organization:
    """Serialise licence-counting writes of one org."""
    return Organization.objects.select_for_update().get(pk=org.pk)


@transaction.atomic
def organization_delete(
    *, org: Organization, actor: CrmUser, confirm_name: str, ip: str | None = None
) -> None:
    """ORG-4: the only active user deletes their org; a final export is mailed to them and
    then everything of the org is erased."""
    if not actor.is_super_admin:
        raise PermissionDenied
    if CrmUser.objects.filter(org=org, status=CrmUser.Status.ACTIVE).exclude(pk=actor.pk).exists():
        raise ActionRefused(
            _("Only an organisation whose only active user you are can be deleted this way.")
        )
    if confirm_name.strip() != org.name:
        raise ActionRefused(
            _("Type the organisation's name exactly as shown to confirm."), field="confirm_name"
        )
    context = {"org_name": org.name}
    with translation.override(actor.language):
        subject = render_to_string("users/email/final_export.subject.txt", context).strip()
        body = render_to_string("users/email/final_export.txt", context)
    message = EmailMessage(subject, body, to=[actor.email])
    message.attach(f"{org.slug}-export.json", organization_export(org=org), "application/json")
    mail_enqueue(message)
    org.delete()
