"""A portal user's own account (POR-7, X-2): two-factor through allauth.mfa's own TOTP and
recovery codes, and what an admin does about a lost authenticator (reset it, audited)."""

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.db import transaction
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused
from users import permissions
from users.audit import audit_log_write
from users.models import CrmUser
from users.permissions import require_permission, require_same_org

from .models import Portal, PortalUser


def totp_of(user) -> Authenticator | None:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()


def recovery_codes_of(user) -> list[str]:
    found = Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).first()
    return found.wrap().get_unused_codes() if found is not None else []


@transaction.atomic
def mfa_activate(user, secret: str) -> list[str]:
    """Turn TOTP on with a secret the person has confirmed with a code (allauth's
    ActivateTOTPForm); new recovery codes come with it. Returns the codes."""
    TOTP.activate(user, secret)
    return recovery_codes_regenerate(user)


@transaction.atomic
def recovery_codes_regenerate(user) -> list[str]:
    """New recovery codes; the old ones stop working."""
    Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).delete()
    return RecoveryCodes.activate(user).get_unused_codes()


def mfa_check(user, *, password: str = "", code: str = "") -> bool:
    """The account's password, or a current authenticator code or an unused recovery code."""
    if password and user.check_password(password):
        return True
    code = (code or "").strip()
    if not code:
        return False
    totp = totp_of(user)
    if totp is not None and totp.wrap().validate_code(code):
        return True
    recovery = Authenticator.objects.filter(
        user=user, type=Authenticator.Type.RECOVERY_CODES
    ).first()
    return recovery is not None and recovery.wrap().validate_code(code)


def mfa_deactivate(user) -> int:
    """Two-factor off: the TOTP and the recovery codes go."""
    deleted, _detail = Authenticator.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def portal_user_mfa_reset(*, actor: CrmUser, portal: Portal, portal_user: PortalUser, ip=None):
    """X-2: an admin removes a portal user's authenticators (TOTP and recovery codes), so the
    person signs in with the password alone and can set two-factor up again."""
    require_permission(actor, permissions.MANAGE_PORTAL_USERS)
    require_same_org(actor.org, portal, portal_user)
    if portal_user.portal_id != portal.pk:
        raise ActionRefused(_("Choose users of this portal only."))
    if portal_user.user_id is None:
        raise ActionRefused(_("This person has no account yet: there is no two-factor to reset."))
    removed = mfa_deactivate(portal_user.user)
    audit_log_write(
        org=portal.org,
        actor=actor,
        action="portal_user.mfa_reset",
        ip=ip,
        details={
            "email": portal_user.email,
            "portal": portal.name,
            "group": portal_user.group.name,
        },
    )
    return removed
