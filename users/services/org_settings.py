"""The organisation settings (ORG-7, X-3): name, address (slug), time zone and default
language, and the idle session timeout. Administrators change them; every change is audited
with its old and new value as data."""

import re

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_portal.exceptions import ActionRefused

from ..audit import audit_log_write
from ..models import CrmUser, Organization
from ..preferences import is_valid_time_zone

NAME_MAX_LENGTH = 120
# 3 to 60 characters: lowercase letters, digits and inner hyphens (the URL's /o/<slug>/).
SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,58}[a-z0-9]")
IDLE_TIMEOUT_MIN, IDLE_TIMEOUT_MAX = 5, 1440
SLUG_RULE = gettext_lazy(
    "Use 3 to 60 lowercase letters, digits and hyphens; start and end with a letter or digit."
)


def _require_admin(actor: CrmUser, org: Organization) -> None:
    """Only an active administrator of this org changes its settings (USR-1)."""
    if actor is None or actor.org_id != org.pk:
        raise PermissionDenied
    if actor.status != CrmUser.Status.ACTIVE or not actor.is_admin:
        raise PermissionDenied


def _audit(org, actor, action, old, new, ip, **extra) -> None:
    details = {"old": old, "new": new, **extra}
    audit_log_write(org=org, actor=actor, action=action, details=details, ip=ip)


@transaction.atomic
def organization_rename(
    *, org: Organization, actor: CrmUser, name: str, ip: str | None = None
) -> Organization:
    """Give the org a new name (ORG-7; sign-up promised "you can change it later")."""
    _require_admin(actor, org)
    name = name.strip()
    if not name:
        raise ActionRefused(_("Enter the organisation's name."), field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ActionRefused(
            _("Use at most %(max)s characters.") % {"max": NAME_MAX_LENGTH}, field="name"
        )
    old = org.name
    if name != old:
        org.name = name
        org.save(update_fields=["name"])
        _audit(org, actor, "org.renamed", old, name, ip)
    return org


def organization_change_slug(
    *, org: Organization, actor: CrmUser, slug: str, ip: str | None = None
) -> Organization:
    """Move the org to a new address /o/<slug>/ (ORG-7). Old links stop working."""
    _require_admin(actor, org)
    slug = slug.strip().lower()
    if not SLUG_PATTERN.fullmatch(slug):
        raise ActionRefused(str(SLUG_RULE), field="slug")
    if slug == org.slug:
        return org
    taken = ActionRefused(_("This address is taken. Choose another one."), field="slug")
    if Organization.objects.filter(slug=slug).exclude(pk=org.pk).exists():
        raise taken
    old = org.slug
    try:
        with transaction.atomic():
            Organization.objects.filter(pk=org.pk).update(slug=slug)
            _audit(org, actor, "org.slug_changed", old, slug, ip)
    except IntegrityError:  # taken by another org between the check and the write
        raise taken from None
    org.slug = slug
    return org


@transaction.atomic
def organization_change_locale(
    *,
    org: Organization,
    actor: CrmUser,
    time_zone: str,
    language: str,
    ip: str | None = None,
) -> Organization:
    """The org's time zone and default language (ORG-7). Both are defaults for new members;
    members who still use the org's previous time zone move with it, members who chose
    another one keep theirs (USR-6)."""
    _require_admin(actor, org)
    if not is_valid_time_zone(time_zone):
        raise ActionRefused(_("Choose a time zone from the list."), field="time_zone")
    if language not in dict(settings.LANGUAGES):
        raise ActionRefused(_("Choose a language from the list."), field="language")
    old_zone, old_language = org.time_zone, org.language
    org.time_zone, org.language = time_zone, language
    org.save(update_fields=["time_zone", "language"])
    if time_zone != old_zone:
        moved = CrmUser.objects.filter(org=org, time_zone=old_zone).update(time_zone=time_zone)
        _audit(org, actor, "org.time_zone_changed", old_zone, time_zone, ip, members=moved)
    if language != old_language:
        _audit(org, actor, "org.language_changed", old_language, language, ip)
    return org


@transaction.atomic
def organization_change_idle_timeout(
    *,
    org: Organization,
    actor: CrmUser,
    idle_timeout_minutes: int | None,
    ip: str | None = None,
) -> Organization:
    """X-3: members are signed out after this many minutes without a request; None or 0
    turns it off."""
    _require_admin(actor, org)
    minutes = idle_timeout_minutes or None
    if minutes is not None and not IDLE_TIMEOUT_MIN <= minutes <= IDLE_TIMEOUT_MAX:
        raise ActionRefused(
            _("Enter a number of minutes from %(min)s to %(max)s, or leave it empty for no limit.")
            % {"min": IDLE_TIMEOUT_MIN, "max": IDLE_TIMEOUT_MAX},
            field="idle_timeout_minutes",
        )
    old = org.idle_timeout_minutes
    if minutes != old:
        org.idle_timeout_minutes = minutes
        org.save(update_fields=["idle_timeout_minutes"])
        _audit(org, actor, "org.idle_timeout_changed", old, minutes, ip)
    return org
