"""The audit log's writes (USR-9): every app records its user-management actions here."""

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
