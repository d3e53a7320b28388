"""The audit log (USR-9): every app records its user-management actions here, and each
action code has the label the audit log page shows for it."""

from django.utils.translation import gettext_lazy as _

from .models import AuditLogEntry, CrmUser


def audit_entry(
    *,
    org,
    actor: CrmUser | None,
    action: str,
    target: CrmUser | None = None,
    details: dict | None = None,
    ip: str | None = None,
) -> AuditLogEntry:
    """An unsaved audit entry (USR-9): saved alone by audit_log_write, or in bulk."""
    return AuditLogEntry(
        org=org,
        actor=actor,
        actor_label=(f"{actor} <{actor.email}>" if actor else "system"),
        action=action,
        target=target,
        target_label=(f"{target} <{target.email}>" if target else ""),
        details=details or {},
        ip_address=ip,
    )


def audit_log_write(**kwargs) -> AuditLogEntry:
    entry = audit_entry(**kwargs)
    entry.save()
    return entry


ACTION_LABELS = {
    "user.added": _("User added"),
    "user.reinvited": _("User re-invited"),
    "user.access_changed": _("Role or profile changed"),
    "user.details_changed": _("User details changed"),
    "user.deactivated": _("User deactivated"),
    "user.activated": _("User activated"),
    "user.deleted": _("User deleted"),
    "user.left": _("User left the organisation"),
    "user.imported": _("User added by an import"),
    "customfield.created": _("Custom field created"),
    "customfield.changed": _("Custom field changed"),
    "customfield.deleted": _("Custom field deleted"),
    "fieldlayout.changed": _("Field layout changed"),
    "api_token_create": _("API token created"),
    "api_token_revoke": _("API token revoked"),
    "user.updated_by_import": _("User updated by an import"),
    # The organisation settings (ORG-7, X-3); details hold {"old": …, "new": …}.
    "org.renamed": _("Organisation renamed"),
    "org.slug_changed": _("Organisation address changed"),
    "org.time_zone_changed": _("Organisation time zone changed"),
    "org.language_changed": _("Organisation default language changed"),
    "org.idle_timeout_changed": _("Idle session timeout changed"),
    "org.super_admin_transferred": _("Super admin role transferred"),
    "invitation.accepted": _("Invitation accepted"),
    "profile.created": _("Profile created"),
    "profile.changed": _("Profile changed"),
    "profile.deleted": _("Profile deleted"),
    "role.created": _("Role created"),
    "role.changed": _("Role changed"),
    "role.deleted": _("Role deleted"),
    "territories.enabled": _("Territories turned on"),
    "territories.disabled": _("Territories turned off"),
    "territory.created": _("Territory created"),
    "territory.changed": _("Territory changed"),
    "territory.deleted": _("Territory deleted"),
}


def action_label(code: str) -> str:
    """The translated label of an action code; an unknown code is shown as it is."""
    return str(ACTION_LABELS.get(code, code))
