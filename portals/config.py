"""Portals and their user groups, as the CRM configures them (POR-1, POR-2): the services that
change them (each audited, each refusing an actor without Manage Portals and objects of another
org) and the selectors the pages and the portal site read them with."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm_portal.exceptions import ActionRefused
from crm_portal.files import image_kind
from records.modules import MODELS, field_specs
from users import permissions
from users.audit import audit_log_write
from users.models import CrmUser, Organization
from users.permissions import require_permission, require_same_org

from .models import MODULE_ACTIONS, RECORD_SCOPES, Portal, PortalUser, UserGroup

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Addresses a portal may not take: they read as the site's own pages.
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "accounts",
        "account",
        "app",
        "assets",
        "auth",
        "crm",
        "help",
        "invite",
        "login",
        "logout",
        "media",
        "new",
        "o",
        "portal",
        "portals",
        "signin",
        "signup",
        "static",
        "support",
        "www",
    }
)
COLOUR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_MAX_BYTES_DEFAULT = 512 * 1024
ACTION_CODES = [code for code, _label in MODULE_ACTIONS]
SCOPE_CODES = [code for code, _label in RECORD_SCOPES]


def logo_max_bytes() -> int:
    return int(getattr(settings, "PORTAL_LOGO_MAX_BYTES", LOGO_MAX_BYTES_DEFAULT))


# --- checks (the forms show them at once; the services check again) ---------------------------


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ActionRefused(_("Enter a name."), field="name")
    return name


def check_slug(slug: str, *, exclude_pk: int | None = None) -> str:
    """A portal's address: lowercase letters, digits and hyphens, not reserved, free across the
    whole site. A taken one is refused without saying whose it is."""
    slug = (slug or "").strip().lower()
    if not slug:
        raise ActionRefused(_("Enter a web address."), field="slug")
    if len(slug) > 60 or not SLUG_PATTERN.match(slug):
        raise ActionRefused(
            _(
                "Use lowercase letters, digits and hyphens only (at most 60), "
                "starting and ending with a letter or digit."
            ),
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise ActionRefused(_("This web address is reserved. Choose another."), field="slug")
    taken = Portal.objects.with_scopes_disabled().filter(slug=slug).exclude(pk=exclude_pk).exists()
    if taken:
        raise ActionRefused(_("This web address is taken. Choose another."), field="slug")
    return slug


def check_languages(languages, default_language: str) -> tuple[list[str], str]:
    known = [code for code, _name in settings.LANGUAGES]
    chosen = [code for code in known if code in set(languages or [])]
    if set(languages or []) - set(known):
        raise ActionRefused(_("Choose languages from the list."), field="languages")
    if not chosen:
        raise ActionRefused(_("Offer at least one language."), field="languages")
    if default_language not in chosen:
        raise ActionRefused(
            _("The default language must be one of the languages offered."),
            field="default_language",
        )
    return chosen, default_language


def check_colour(value: str, field: str) -> str:
    value = (value or "").strip()
    if not COLOUR_PATTERN.match(value):
        raise ActionRefused(_("Enter a colour as # and six hex digits, e.g. #2563eb."), field=field)
    return value.lower()


# The logo's type is read from its first bytes, never from its name or the browser's word;
# SVG is refused (it can carry scripts).
logo_kind = image_kind


@dataclass(frozen=True)
class CheckedLogo:
    kind: str
    content: bytes


def check_logo(upload) -> CheckedLogo:
    """An uploaded logo, refused when too big or not a PNG, JPEG, GIF or WebP image."""
    limit = logo_max_bytes()
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ActionRefused(_too_big(limit), field="logo")
    upload.seek(0)
    content = upload.read(limit + 1)
    upload.seek(0)
    if len(content) > limit:
        raise ActionRefused(_too_big(limit), field="logo")
    kind = logo_kind(content[:16])
    if kind is None:
        raise ActionRefused(
            _("The logo must be a PNG, JPEG, GIF or WebP image (SVG is not accepted)."),
            field="logo",
        )
    return CheckedLogo(kind=kind, content=content)


def _too_big(limit: int) -> str:
    kb = max(1, limit // 1024)
    return _("The logo may be at most %(size)s KB.") % {"size": kb}


# --- portal services ----------------------------------------------------------------------------


def _portal_state(portal: Portal) -> dict:
    return {
        "name": portal.name,
        "slug": portal.slug,
        "languages": list(portal.languages),
        "default_language": portal.default_language,
        "primary_colour": portal.primary_colour,
        "background_colour": portal.background_colour,
        "logo": bool(portal.logo),
    }


def _store_logo(portal: Portal, logo: CheckedLogo) -> None:
    old = portal.logo.name if portal.logo else ""
    portal.logo.save(f"logo.{logo.kind}", ContentFile(logo.content), save=False)
    if old and old != portal.logo.name:
        transaction.on_commit(lambda: portal.logo.storage.delete(old))


def _apply(portal, *, name, slug, languages, default_language, primary_colour, background_colour):
    portal.name = check_name(name)
    portal.slug = check_slug(slug, exclude_pk=portal.pk)
    portal.languages, portal.default_language = check_languages(languages, default_language)
    portal.primary_colour = check_colour(primary_colour, "primary_colour")
    portal.background_colour = check_colour(background_colour, "background_colour")


def _save_unique(portal: Portal) -> None:
    try:
        with transaction.atomic():
            portal.save()
    except IntegrityError as error:  # two admins taking one address at once
        raise ActionRefused(
            _("This web address is taken. Choose another."), field="slug"
        ) from error


@transaction.atomic
def portal_create(
    *,
    org: Organization,
    actor: CrmUser,
    name: str,
    slug: str,
    languages,
    default_language: str,
    primary_colour: str = "#2563eb",
    background_colour: str = "#f5f7fb",
    logo=None,
    ip: str | None = None,
) -> Portal:
    require_permission(actor, permissions.MANAGE_PORTALS)
    portal = Portal(org=org)
    _apply(
        portal,
        name=name,
        slug=slug,
        languages=languages,
        default_language=default_language,
        primary_colour=primary_colour,
        background_colour=background_colour,
    )
    checked = check_logo(logo) if logo else None
    if checked:
        _store_logo(portal, checked)
    _save_unique(portal)
    audit_log_write(
        org=org,
        actor=actor,
        action="portal.created",
        ip=ip,
        details={"before": {}, "after": _portal_state(portal)},
    )
    return portal


@transaction.atomic
def portal_update(
    *,
    org: Organization,
    actor: CrmUser,
    portal: Portal,
    name: str,
    slug: str,
    languages,
    default_language: str,
    primary_colour: str,
    background_colour: str,
    logo=None,
    remove_logo: bool = False,
    ip: str | None = None,
) -> Portal:
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, portal)
    portal = Portal.objects.with_scopes_disabled().select_for_update().get(pk=portal.pk)
    before = _portal_state(portal)
    _apply(
        portal,
        name=name,
        slug=slug,
        languages=languages,
        default_language=default_language,
        primary_colour=primary_colour,
        background_colour=background_colour,
    )
    checked = check_logo(logo) if logo else None
    if checked:
        _store_logo(portal, checked)
    elif remove_logo and portal.logo:
        old = portal.logo.name
        portal.logo = ""
        transaction.on_commit(lambda: Portal.logo.field.storage.delete(old))
    _save_unique(portal)
    after = _portal_state(portal)
    if after != before or checked:
        audit_log_write(
            org=org,
            actor=actor,
            action="portal.changed",
            ip=ip,
            details={"portal": portal.name, "before": before, "after": after},
        )
    return portal


@transaction.atomic
def portal_set_enabled(
    *, org: Organization, actor: CrmUser, portal: Portal, enabled: bool, ip: str | None = None
) -> Portal:
    """Turn a portal off (its portal users cannot sign in) or on again (POR-1)."""
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, portal)
    portal = Portal.objects.with_scopes_disabled().select_for_update().get(pk=portal.pk)
    if portal.is_enabled != enabled:
        portal.is_enabled = enabled
        portal.save(update_fields=["is_enabled", "updated_at"])
        audit_log_write(
            org=org,
            actor=actor,
            action="portal.enabled" if enabled else "portal.disabled",
            ip=ip,
            details={"portal": portal.name},
        )
    return portal


@transaction.atomic
def portal_delete(
    *, org: Organization, actor: CrmUser, portal: Portal, ip: str | None = None
) -> None:
    """Delete a portal with its user groups and portal users."""
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, portal)
    users = PortalUser.objects.with_scopes_disabled().filter(portal=portal).count()
    logo = portal.logo.name if portal.logo else ""
    audit_log_write(
        org=org,
        actor=actor,
        action="portal.deleted",
        ip=ip,
        details={"portal": portal.name, "slug": portal.slug, "users": users},
    )
    # Portal users hold their group with PROTECT: they go first.
    PortalUser.objects.with_scopes_disabled().filter(portal=portal).delete()
    portal.delete()
    if logo:
        transaction.on_commit(lambda: Portal.logo.field.storage.delete(logo))


# --- portal selectors ---------------------------------------------------------------------------


def portals_of(org: Organization) -> QuerySet:
    """The org's portals with their number of portal users, by name."""
    return (
        Portal.objects.with_scopes_disabled()
        .filter(org=org)
        .annotate(user_count=Count("users", distinct=True))
        .order_by("name", "pk")
    )


def portal_of(org: Organization, pk: int) -> Portal | None:
    return portals_of(org).filter(pk=pk).first()


def language_names(codes) -> list[str]:
    names = dict(settings.LANGUAGES)
    return [str(names[code]) for code in codes if code in names]


# --- user groups (POR-2) ------------------------------------------------------------------------


def group_modules() -> list[str]:
    """The modules a group can share: every module of the records' registry, in its order."""
    return list(MODELS)


def clean_group_modules(org: Organization, modules: dict) -> dict:
    """`modules` in UserGroup.modules' shape, checked: known modules, actions, record scopes
    and field keys; any action implies View; the editable fields are among those shown."""
    if not isinstance(modules, dict):
        raise ActionRefused(_("The modules could not be read."))
    cleaned = {}
    for module, spec in modules.items():
        if module not in MODELS:
            raise ActionRefused(_("Unknown module: %(module)s") % {"module": module})
        spec = spec if isinstance(spec, dict) else {}
        actions = list(spec.get("actions") or [])
        unknown = set(actions) - set(ACTION_CODES)
        if unknown:
            raise ActionRefused(
                _("Unknown action: %(codes)s") % {"codes": ", ".join(sorted(unknown))},
                field=f"{module}-actions",
            )
        if "view" not in actions:
            raise ActionRefused(
                _("A shared module needs View: creating, editing, notes and attachments imply it."),
                field=f"{module}-actions",
            )
        records = spec.get("records") or ""
        if records not in SCOPE_CODES:
            raise ActionRefused(_("Choose which records they reach."), field=f"{module}-records")
        keys = [s.key for s in field_specs(org, module)]
        shown = list(spec.get("fields_shown") or [])
        editable = list(spec.get("fields_editable") or [])
        unknown = (set(shown) | set(editable)) - set(keys)
        if unknown:
            raise ActionRefused(
                _("Unknown field: %(keys)s") % {"keys": ", ".join(sorted(unknown))},
                field=f"{module}-fields_shown",
            )
        if not shown:
            raise ActionRefused(_("Choose the fields shown."), field=f"{module}-fields_shown")
        if set(editable) - set(shown):
            raise ActionRefused(
                _("A field can be editable only if it is shown."),
                field=f"{module}-fields_editable",
            )
        cleaned[module] = {
            "actions": [code for code in ACTION_CODES if code in actions],
            "records": records,
            "fields_shown": [key for key in keys if key in shown],
            "fields_editable": [key for key in keys if key in editable],
        }
    return cleaned


def _group_state(group: UserGroup) -> dict:
    return {"name": group.name, "modules": sorted(group.modules)}


def _group_name(portal: Portal, name: str, exclude_pk=None) -> str:
    name = check_name(name)
    clash = UserGroup.objects.with_scopes_disabled().filter(portal=portal, name__iexact=name)
    if clash.exclude(pk=exclude_pk).exists():
        raise ActionRefused(_("%(name)s exists already.") % {"name": name}, field="name")
    return name


@transaction.atomic
def usergroup_create(
    *,
    org: Organization,
    actor: CrmUser,
    portal: Portal,
    name: str,
    modules: dict,
    ip: str | None = None,
) -> UserGroup:
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, portal)
    group = UserGroup(org=org, portal=portal, name=_group_name(portal, name))
    group.modules = clean_group_modules(org, modules)
    group.save()
    audit_log_write(
        org=org,
        actor=actor,
        action="usergroup.created",
        ip=ip,
        details={"portal": portal.name, "before": {}, "after": _group_state(group)},
    )
    return group


@transaction.atomic
def usergroup_update(
    *,
    org: Organization,
    actor: CrmUser,
    group: UserGroup,
    name: str,
    modules: dict,
    ip: str | None = None,
) -> UserGroup:
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, group)
    group = UserGroup.objects.with_scopes_disabled().select_for_update().get(pk=group.pk)
    before = _group_state(group)
    old_modules = group.modules
    group.name = _group_name(group.portal, name, exclude_pk=group.pk)
    group.modules = clean_group_modules(org, modules)
    group.save()
    if before != _group_state(group) or old_modules != group.modules:
        audit_log_write(
            org=org,
            actor=actor,
            action="usergroup.changed",
            ip=ip,
            details={
                "group": group.name,
                "portal": group.portal.name,
                "before": before,
                "after": _group_state(group),
            },
        )
    return group


@transaction.atomic
def usergroup_delete(
    *, org: Organization, actor: CrmUser, group: UserGroup, ip: str | None = None
) -> None:
    """Refused while portal users are in the group (they hold it with PROTECT)."""
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(org, group)
    count = PortalUser.objects.with_scopes_disabled().filter(group=group).count()
    if count:
        raise ActionRefused(
            ngettext(
                "%(count)s portal user is in %(name)s. Move them to another group first.",
                "%(count)s portal users are in %(name)s. Move them to another group first.",
                count,
            )
            % {"count": count, "name": group.name}
        )
    audit_log_write(
        org=org,
        actor=actor,
        action="usergroup.deleted",
        ip=ip,
        details={"group": group.name, "portal": group.portal.name},
    )
    group.delete()


def groups_of(portal: Portal) -> QuerySet:
    return (
        UserGroup.objects.with_scopes_disabled()
        .filter(portal=portal)
        .annotate(user_count=Count("users", distinct=True))
        .order_by("name", "pk")
    )


def group_field_keys(group: UserGroup, module: str) -> tuple[list[str], list[str]]:
    """(fields shown, fields editable) of `module` for the group's portal users, in the
    registry's order; fields deleted since the group was saved are left out."""
    spec = group.module(module)
    if not spec:
        return [], []
    keys = [s.key for s in field_specs(group.org, module)]
    shown = set(spec.get("fields_shown") or [])
    editable = set(spec.get("fields_editable") or []) & shown
    return [k for k in keys if k in shown], [k for k in keys if k in editable]
