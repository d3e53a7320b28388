"""Sender addresses of the Campaigns team (CAM-7): added with a verification mail, verified by
following its link, deleted only by the member who added them (and with that member)."""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from crm_portal.exceptions import ActionRefused
from crm_portal.mail import mail_enqueue
from users.audit import audit_log_write
from users.models import CrmUser, Organization

from . import permissions
from .models import CampaignMember, SenderAddress
from .services import clean_address
from .statuses import SEATED


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sender_audit(*, org, actor: CampaignMember | None, action: str, sender: SenderAddress):
    by = None
    if actor is not None and actor.user_id:
        by = CrmUser.objects.filter(org=org, user_id=actor.user_id).first()
    audit_log_write(
        org=org,
        actor=by,
        action=action,
        details={"email": sender.email, "added_by": sender.added_by.email},
    )


def refuse_other_team(org: Organization, email: str) -> None:
    """CAM-7: an address that is a member of another org's Campaigns team can't be added."""
    with scopes_disabled():
        taken = (
            CampaignMember.objects.filter(email__iexact=email, status__in=SEATED)
            .exclude(org=org)
            .exists()
        )
    if taken:
        raise ActionRefused(
            _("%(email)s is a member of another organisation's Campaigns team.") % {"email": email},
            field="email",
        )


@transaction.atomic
def sender_add(*, org: Organization, actor: CampaignMember, email: str) -> SenderAddress:
    """CAM-7: add a sender address and mail its verification link."""
    if actor.org_id != org.pk or not actor.can(permissions.MANAGE_SENDERS):
        raise PermissionDenied
    email = clean_address(email)
    refuse_other_team(org, email)
    if SenderAddress.objects.filter(org=org, email__iexact=email).exists():
        raise ActionRefused(_("This sender address is already listed."), field="email")
    token = secrets.token_urlsafe(32)
    sender = SenderAddress.objects.create(
        org=org, added_by=actor, email=email, token_hash=digest(token)
    )
    mail_enqueue(verification_message(sender, token, actor.language))
    sender_audit(org=org, actor=actor, action="campaigns.sender_added", sender=sender)
    return sender


def verification_message(sender: SenderAddress, token: str, language: str):
    context = {
        "org_name": sender.org.name,
        "email": sender.email,
        "link": settings.SITE_URL + reverse("sender_verify", kwargs={"token": token}),
    }
    prefix = "campaigns_users/email/sender_verification"
    with translation.override(language):
        subject = render_to_string(f"{prefix}.subject.txt", context)
        message = EmailMultiAlternatives(
            " ".join(subject.split()), render_to_string(f"{prefix}.txt", context), to=[sender.email]
        )
        message.attach_alternative(render_to_string(f"{prefix}.html", context), "text/html")
    return message


def sender_lookup(token: str) -> SenderAddress | None:
    if not token or len(token) > 100:
        return None
    with scopes_disabled():
        sender = (
            SenderAddress.objects.select_related("org", "added_by")
            .filter(token_hash=digest(token))
            .first()
        )
    if sender is None or not hmac.compare_digest(sender.token_hash, digest(token)):
        return None
    return sender


@transaction.atomic
def sender_verify(*, token: str) -> SenderAddress:
    """CAM-7: the mailbox followed the link; the link is single-use."""
    with scopes_disabled():
        sender = (
            SenderAddress.objects.select_for_update(of=("self",))
            .select_related("org", "added_by")
            .filter(token_hash=digest(token or ""))
            .first()
        )
        if sender is None:
            raise ActionRefused(_("This verification link is not valid."))
        sender.verified_at, sender.token_hash = timezone.now(), None
        sender.save(update_fields=["verified_at", "token_hash"])
        sender_audit(org=sender.org, actor=None, action="campaigns.sender_verified", sender=sender)
    return sender


@transaction.atomic
def sender_delete(*, org: Organization, actor: CampaignMember, sender: SenderAddress) -> None:
    """CAM-7: only the member who added a sender address deletes it."""
    if sender.org_id != org.pk:
        raise PermissionDenied
    if sender.added_by_id != actor.pk:
        raise ActionRefused(
            _("Only %(email)s, who added this sender address, can delete it.")
            % {"email": sender.added_by.email}
        )
    sender_audit(org=org, actor=actor, action="campaigns.sender_deleted", sender=sender)
    sender.delete()


def verified_senders(org: Organization):
    """The org's verified sender addresses: what a template may send from (POR-6)."""
    return SenderAddress.objects.filter(
        org=org, verified_at__isnull=False, added_by__account_deleted_at__isnull=True
    )


def org_sender_addresses(org: Organization) -> dict[str, bool]:
    """POR-6: the org's sender addresses (lower case) → verified (EMAIL_SENDER_ADDRESSES)."""
    rows = SenderAddress.objects.filter(org=org, added_by__account_deleted_at__isnull=True)
    rows = rows.values_list("email", "verified_at")
    return {email.lower(): verified_at is not None for email, verified_at in rows}
