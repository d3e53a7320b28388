"""The invitation core (DESIGN: Invitations): random tokens stored only as hashes, 7 days from
each send, single-use, every re-send kills older links, held while the org is unverified."""

import hashlib
import hmac
import logging
import secrets

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from crm_portal.exceptions import ActionRefused
from crm_portal.mail import message_to_payload
from users.models import CrmUser
from users.selectors import other_active_membership

from .delivery import delivery_enqueue
from .models import INVITATION_VALIDITY, Invitation

logger = logging.getLogger(__name__)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(token: str) -> str:
    return f"{settings.SITE_URL}/invite/{token}/"


def invitation_for_crm_user(*, membership: CrmUser, actor: CrmUser | None) -> Invitation:
    """The membership's invitation, created on first use; never sent by this call."""
    invitation, _created = Invitation.objects.get_or_create(
        crm_user=membership,
        defaults={
            "org": membership.org,
            "kind": Invitation.Kind.CRM_USER,
            "email": membership.email,
            "language": membership.language,
            "status": Invitation.Status.HELD,
            "invited_by": actor,
        },
    )
    return invitation


def invitation_send(*, invitation: Invitation, actor: CrmUser | None) -> bool:
    """Send (or re-send) the invitation with a fresh token. While the org is unverified it is
    held instead (ORG-2). Returns True when a mail was queued."""
    invitation.invited_by = actor or invitation.invited_by
    invitation.email = invitation.crm_user.email if invitation.crm_user else invitation.email
    if not invitation.org.is_verified:
        invitation.status = Invitation.Status.HELD
        invitation.token_hash = None
        invitation.save()
        return False
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = token_hash(token)
    invitation.status = Invitation.Status.SENT
    invitation.sent_count += 1
    invitation.last_sent_at = now
    invitation.expires_at = now + INVITATION_VALIDITY
    invitation.save()
    payload = message_to_payload(_invitation_message(invitation, token))
    delivery_enqueue(invitation=invitation, payload=payload)
    return True


def _invitation_message(invitation: Invitation, token: str) -> EmailMultiAlternatives:
    inviter = invitation.invited_by
    context = {
        "org_name": invitation.org.name,
        "inviter_name": str(inviter) if inviter else invitation.org.name,
        "link": invitation_link(token),
        "expires_at": invitation.expires_at,
        "validity_days": INVITATION_VALIDITY.days,
    }
    prefix = "invitations/email/crm_user_invitation"
    with translation.override(invitation.language):
        subject = render_to_string(f"{prefix}.subject.txt", context).strip()
        text = render_to_string(f"{prefix}.txt", context)
        html = render_to_string(f"{prefix}.html", context)
    message = EmailMultiAlternatives(subject, text, to=[invitation.email])
    message.attach_alternative(html, "text/html")
    return message


def invitation_revoke(*, invitation: Invitation) -> None:
    invitation.status = Invitation.Status.REVOKED
    invitation.token_hash = None
    invitation.save(update_fields=["status", "token_hash"])


def invitation_lookup(token: str) -> Invitation | None:
    """The invitation whose *current* link this is, whatever its state; None if unknown."""
    if not token or len(token) > 100:
        return None
    digest = token_hash(token)
    with scopes_disabled():
        invitation = (
            Invitation.objects.select_related("org", "crm_user").filter(token_hash=digest).first()
        )
    if invitation is None or not hmac.compare_digest(invitation.token_hash, digest):
        return None
    return invitation


def refuse_invalid_invitation():
    raise ActionRefused(
        _(
            "This invitation link is not valid. It may have expired, been used "
            "already, or been replaced by a newer invitation."
        )
    )


def verified_emails_of(user) -> set[str]:
    from allauth.account.models import EmailAddress

    return {
        e.lower()
        for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    }


def invitation_accept(*, token: str, user) -> CrmUser:
    """Accept a CRM-user invitation for `user` (USR-4). Refused unless the link is the current
    one, unexpired and unused, the account's verified email is the invited one, and the
    person is not active in another org (ORG-4). Two accepts at once: exactly one wins."""
    digest = token_hash(token or "")
    with transaction.atomic(), scopes_disabled():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("org", "crm_user")
            .filter(token_hash=digest, kind=Invitation.Kind.CRM_USER)
            .first()
        )
        if invitation is None or not invitation.is_open:
            refuse_invalid_invitation()
        if invitation.email.lower() not in verified_emails_of(user):
            raise ActionRefused(
                _("This invitation is for %(email)s. Sign in with that address to accept it.")
                % {"email": invitation.email}
            )
        if other_active_membership(user=user, org=invitation.org):
            raise ActionRefused(_("You are already an active user of another organisation."))
        membership = invitation.crm_user
        if membership.status == CrmUser.Status.DEACTIVATED:
            refuse_invalid_invitation()
        now = timezone.now()
        membership.user = user
        membership.status = CrmUser.Status.ACTIVE
        membership.status_changed_at = now
        membership.save(update_fields=["user", "status", "status_changed_at"])
        invitation.status = Invitation.Status.ACCEPTED
        invitation.accepted_at = now
        invitation.accepted_by = user
        invitation.token_hash = None
        invitation.save(update_fields=["status", "accepted_at", "accepted_by", "token_hash"])
        from users.audit import audit_log_write

        audit_log_write(
            org=invitation.org, actor=membership, action="invitation.accepted", target=membership
        )
    return membership
