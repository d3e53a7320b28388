"""What a profile may allow (USR-1). Codes are stored in Profile.permissions."""

from django.core.exceptions import PermissionDenied
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

MANAGE_USERS = "manage_users"
MANAGE_PORTALS = "manage_portals"
MANAGE_PORTAL_USERS = "manage_portal_users"
IMPORT = "import"
EXPORT = "export"

RECORD_MODULES = [("contacts", _("Contacts")), ("accounts", _("Accounts"))]
RECORD_ACTIONS = [("create", _("create")), ("edit", _("edit")), ("delete", _("delete"))]


def record_permission(module: str, action: str) -> str:
    return f"{module}.{action}"


PERMISSIONS: list[tuple[str, str]] = [
    (MANAGE_USERS, _("Manage Users")),
    (MANAGE_PORTALS, _("Manage Portals")),
    (MANAGE_PORTAL_USERS, _("Manage Portal Users")),
    (IMPORT, _("Import")),
    (EXPORT, _("Export")),
] + [
    (record_permission(module, action), format_lazy("{}: {}", module_label, action_label))
    for module, module_label in RECORD_MODULES
    for action, action_label in RECORD_ACTIONS
]
ALL_CODES = frozenset(code for code, _label in PERMISSIONS)

STANDARD_PERMISSIONS = sorted(
    record_permission(module, action)
    for module, _m in RECORD_MODULES
    for action, _a in RECORD_ACTIONS
)


def require_permission(actor, permission: str) -> None:
    """Services refuse an actor whose profile lacks `permission` (USR-1)."""
    if actor is None or not actor.can(permission):
        raise PermissionDenied


def require_same_org(org, *objects) -> None:
    """Services refuse objects of another org, whatever a form or a request handed them."""
    for obj in objects:
        if obj is not None and obj.org_id != org.pk:
            raise PermissionDenied
