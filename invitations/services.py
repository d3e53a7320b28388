"""The invitation core (DESIGN: Invitations): random tokens stored only as hashes, 7 days from
each send, single-use, every re-send kills older links, held while the org is unverified. The
same code serves every membership kind: what differs is asked of the kind's adapter
(invitations.kinds), never decided here by looking at the kind."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, Model, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from crm_portal.exceptions import ActionRefused
from crm_portal.mail import message_to_payload
from users.models import CrmUser

from .delivery import attempts_interrupted_mark, deliveries_enqueue, delivery_enqueue
from .kinds import InvitationKind, invitation_kind
from .models import INVITATION_VALIDITY, DeliveryAttempt, Invitation


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(token: str) -> str:
    return f"{settings.SITE_URL}/invite/{token}/"


def membership_lock(membership: Model) -> Model:
    """Lock the membership row and read it again. Whatever writes a membership and its
    invitation takes this lock first, then the invitation's (DESIGN: Invitations)."""
    with scopes_disabled():
        return type(membership)._default_manager.select_for_update().get(pk=membership.pk)


def invitation_of(*, kind: str, membership: Model, lock: bool = False) -> Invitation | None:
    """The membership's invitation, if it has one; locked when `lock` (after the membership)."""
    invitations = Invitation.objects.filter(invitation_kind(kind).invitation_filter(membership))
    if lock:
        invitations = invitations.select_for_update()
    return invitations.first()


def invitation_for(*, kind: str, membership: Model, actor: CrmUser | None) -> Invitation:
    """The membership's invitation, created (held) on first use; never sent by this call."""
    invitation = invitation_of(kind=kind, membership=membership)
    if invitation is not None:
        return invitation
    adapter = invitation_kind(kind)
    return adapter.invitation_create(
        membership,
        org=membership.org,
        kind=kind,
        email=adapter.email_of(membership),
        language=adapter.language_of(membership),
        status=Invitation.Status.HELD,
        invited_by=actor,
    )


def invitation_send(*, invitation: Invitation, actor: CrmUser | None) -> bool:
    """Send (or re-send) the invitation with a fresh token, to the membership's address of
    now. While the org is unverified it is held instead (ORG-2). Returns True when a mail was
    queued."""
    adapter = invitation_kind(invitation.kind)
    invitation.invited_by = actor or invitation.invited_by
    membership = adapter.membership_of(invitation)
    if membership is not None:
        invitation.email = adapter.email_of(membership)
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
    invitation.delivery, invitation.delivery_detail = Invitation.Delivery.UNKNOWN, ""
    invitation.delivery_reported_at = None  # AUT-9: the reports were about the older send
    invitation.last_sent_at = now
    invitation.expires_at = now + INVITATION_VALIDITY
    invitation.save()
    message = _invitation_message(invitation, token, adapter)
    delivery_enqueue(invitation=invitation, payload=message_to_payload(message))
    return True


def invitations_send_new(*, kind: str, memberships: list[Model]) -> list[Invitation]:
    """Invite a batch of memberships that have no invitation yet, each exactly as
    invitation_for + invitation_send would (a fresh token, SENT, 7 days), in a fixed number
    of statements: the invitations in one INSERT, tied to their memberships by the kind in
    one statement, their mails rendered (each template read once per batch: the kind's
    `rendering`) and handed on commit to delivery tasks of DELIVERY_BATCH_SIZE mails each
    (one SMTP connection per task). The caller holds the memberships locked, in one
    transaction, and has checked they have no invitation and their org is verified; each
    one's inviter is its `invited_by`. Returns the invitations, in the memberships' order."""
    if not memberships:
        return []
    adapter = invitation_kind(kind)
    now = timezone.now()
    tokens = [secrets.token_urlsafe(32) for _membership in memberships]
    invitations = [
        Invitation(
            org=membership.org,
            kind=kind,
            email=adapter.email_of(membership),
            language=adapter.language_of(membership),
            status=Invitation.Status.SENT,
            token_hash=token_hash(token),
            sent_count=1,
            last_sent_at=now,
            expires_at=now + INVITATION_VALIDITY,
            invited_by=getattr(membership, "invited_by", None),
            delivery=Invitation.Delivery.UNKNOWN,
        )
        for membership, token in zip(memberships, tokens, strict=True)
    ]
    Invitation.objects.bulk_create(invitations)
    adapter.invitations_link(list(zip(memberships, invitations, strict=True)))
    with adapter.rendering():
        deliveries = [
            (
                invitation.pk,
                invitation.sent_count,
                message_to_payload(_invitation_message(invitation, token, adapter)),
            )
            for invitation, token in zip(invitations, tokens, strict=True)
        ]
    deliveries_enqueue(org_id=invitations[0].org_id, deliveries=deliveries)
    return invitations


def _invitation_message(
    invitation: Invitation, token: str, adapter: InvitationKind
) -> EmailMultiAlternatives:
    inviter = invitation.invited_by
    context = {
        "org_name": invitation.org.name,
        "inviter_name": str(inviter) if inviter else invitation.org.name,
        "link": invitation_link(token),
        "expires_at": invitation.expires_at,
        "validity_days": INVITATION_VALIDITY.days,
        **adapter.email_context(invitation),
    }
    with translation.override(invitation.language):
        rendered = adapter.render_email(invitation, context)
        if rendered is None:
            prefix = adapter.email_template
            rendered = (
                render_to_string(f"{prefix}.subject.txt", context),
                render_to_string(f"{prefix}.txt", context),
                render_to_string(f"{prefix}.html", context),
            )
    subject, text, html = rendered
    subject = " ".join(subject.split())  # one header line, whatever the template held
    message = EmailMultiAlternatives(
        subject,
        text,
        from_email=getattr(rendered, "from_email", None) or None,
        to=[invitation.email],
        reply_to=getattr(rendered, "reply_to", None) or None,
    )
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
        invitation = Invitation.objects.select_related("org").filter(token_hash=digest).first()
    if invitation is None or not hmac.compare_digest(invitation.token_hash, digest):
        return None
    return invitation


# POR-9: at most one new link per invitation in this time when the invited person asks for one
# (read from the invitation's own last_sent_at, so it holds across processes and restarts).
RESEND_ON_REQUEST_INTERVAL = timedelta(hours=1)


def invitation_resend_on_request(*, token: str, email: str, ip: str | None = None) -> bool:
    """The invited person asks for a new link from the invalid-link page (POR-9). A new link
    goes out only when `token` is the current link of an expired invitation whose invited
    address is `email` (case-insensitive), its kind allows self-service re-sends and still
    allows this membership one, and no link went out in the last hour. The new mail goes to
    the membership's address (invitation_send), never to the typed one.

    Returns whether a mail was queued; the caller must answer the same way either way (USR-4).
    Every known link takes the same reads (its membership, then both locks) whatever the
    address, so a wrong address answers no faster than a right one."""
    typed = (email or "").strip().lower()
    found = invitation_lookup(token)
    if found is None:
        return False
    adapter = invitation_kind(found.kind)
    with transaction.atomic(), scopes_disabled():
        membership = adapter.membership_of(found)
        if membership is None:
            return False
        membership_lock(membership)
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("org")
            .filter(pk=found.pk, token_hash=found.token_hash)
            .first()
        )
        if invitation is None:
            return False
        same_address = hmac.compare_digest(invitation.email.lower().encode(), typed.encode())
        recently_sent = invitation.last_sent_at is not None and (
            invitation.last_sent_at > timezone.now() - RESEND_ON_REQUEST_INTERVAL
        )
        allowed = adapter.allows_self_service_resend and adapter.resend_on_request_allowed(
            invitation
        )
        if not (
            same_address
            and allowed
            and invitation.status == Invitation.Status.SENT
            and invitation.is_expired
            and not recently_sent
        ):
            return False
        sent = invitation_send(invitation=invitation, actor=None)
        if sent:
            adapter.resent_on_request(invitation, ip=ip)
        return sent


def refuse_invalid_invitation():
    raise ActionRefused(
        _(
            "This invitation link is not valid. It may have expired, been used "
            "already, or been replaced by a newer invitation."
        )
    )


def verified_emails_of(user) -> set[str]:
    return {
        e.lower()
        for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    }


def _open_invitation_locked(digest: str) -> tuple[Invitation, Model]:
    """The open invitation of this token hash and its membership, locked in that order
    (DESIGN: Invitations); refused as an invalid link otherwise."""
    found = Invitation.objects.filter(token_hash=digest).first()
    if found is None:
        refuse_invalid_invitation()
    membership = invitation_kind(found.kind).membership_of(found)
    if membership is None:
        refuse_invalid_invitation()
    membership = membership_lock(membership)
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("org")
        .filter(pk=found.pk, token_hash=digest)
        .first()
    )
    if invitation is None or not invitation.is_open:
        refuse_invalid_invitation()
    return invitation, membership


def invitation_declinable(invitation: Invitation | None) -> bool:
    """Whether this looked-up invitation's link may be declined now (CAM-4)."""
    return (
        invitation is not None
        and invitation.is_open
        and invitation_kind(invitation.kind).allows_decline
    )


def invitation_decline(*, token: str) -> Invitation:
    """The invited person declines (CAM-4): no sign-in needed, the link is the proof. Refused
    as an invalid link unless the link is current and open and its kind allows declining;
    the kind records it and the link dies."""
    digest = token_hash(token or "")
    with transaction.atomic(), scopes_disabled():
        invitation, membership = _open_invitation_locked(digest)
        adapter = invitation_kind(invitation.kind)
        if not adapter.allows_decline:
            refuse_invalid_invitation()
        adapter.decline(invitation=invitation, membership=membership)
        invitation_revoke(invitation=invitation)
    return invitation


def invitation_accept(*, token: str, user) -> Invitation:
    """Accept the invitation for `user` (USR-4). Refused unless the link is the current one,
    unexpired and unused, and the account's verified email is the invited one; then the kind
    refuses what it does not allow (ORG-4) or binds its membership. Locks the membership,
    then the invitation: two accepts at once, exactly one wins."""
    digest = token_hash(token or "")
    with transaction.atomic(), scopes_disabled():
        invitation, membership = _open_invitation_locked(digest)
        adapter = invitation_kind(invitation.kind)
        if invitation.email.lower() not in verified_emails_of(user):
            raise ActionRefused(
                _("This invitation is for %(email)s. Sign in with that address to accept it.")
                % {"email": invitation.email}
            )
        invitation.accepted_at = timezone.now()
        adapter.accept(invitation=invitation, membership=membership, user=user)
        invitation.status = Invitation.Status.ACCEPTED
        invitation.accepted_by = user
        invitation.token_hash = None
        invitation.save(update_fields=["status", "accepted_at", "accepted_by", "token_hash"])
    return invitation


# --- deliveries that never happened (issue 16 drill) -----------------------------------------

# The sweeper leaves alone an invitation sent this many times already (a mail that kills
# every worker that tries it must not loop for ever).
MAX_SENDS_BY_SWEEPER = 10


def attempt_alive(stale_before) -> Q:
    """Attempts that finished, or are being made: all but the interrupted ones and those left
    "sending" since before `stale_before` by a worker that died handing their mail over."""
    return ~Q(outcome=DeliveryAttempt.Outcome.INTERRUPTED) & ~Q(
        outcome=DeliveryAttempt.Outcome.SENDING, created_at__lt=stale_before
    )


def invitations_redeliver_stale(*, now=None, limit: int = 500) -> int:
    """Send again, with a fresh link, every invitation whose current send has had no finished
    delivery attempt for INVITATION_DELIVERY_STALE_SECONDS: its task died with a worker killed
    mid-batch (the broker hands an unacknowledged message back only after an hour), or was
    never queued (the broker went away at commit). Mostly the lost mail's link was never
    delivered; the one mail a killed worker was handing over may have been — its attempt,
    left "sending", is marked "interrupted" so that the second copy shows in the delivery log.
    If the old task turns up after all, it finds a newer send and sends nothing. Returns how
    many were sent again."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.INVITATION_DELIVERY_STALE_SECONDS)
    with scopes_disabled():
        attempted = DeliveryAttempt.objects.filter(
            attempt_alive(stale_before),
            invitation=OuterRef("pk"),
            send_number=OuterRef("sent_count"),
        )
        stale = list(
            Invitation.objects.filter(
                status=Invitation.Status.SENT,
                last_sent_at__lt=stale_before,
                last_sent_at__gt=now - timedelta(days=1),
                sent_count__lt=MAX_SENDS_BY_SWEEPER,
            )
            .exclude(Exists(attempted))
            .values_list("pk", "org_id")[:limit]
        )
    sent = 0
    for pk, org_id in stale:
        sent += invitation_redeliver(pk=pk, org_id=org_id, stale_before=stale_before)
    return sent


def invitation_redeliver(*, pk: int, org_id: int, stale_before) -> bool:
    """One stale invitation, re-checked under its lock (a delivery may have been recorded, or
    an admin re-sent it, meanwhile)."""
    with transaction.atomic(), scopes_disabled():
        invitation = (
            Invitation.objects.select_for_update(skip_locked=True)
            .select_related("org")
            .filter(pk=pk, status=Invitation.Status.SENT, last_sent_at__lt=stale_before)
            .first()
        )
        if (
            invitation is None
            or invitation.attempts.filter(
                attempt_alive(stale_before), send_number=invitation.sent_count
            ).exists()
        ):
            return False
        attempts_interrupted_mark([invitation.pk])
        with scope(org=invitation.org):
            return invitation_send(invitation=invitation, actor=None)


@shared_task(name="invitations.tasks.invitations_redeliver_stale_task")
def invitations_redeliver_stale_task() -> int:
    return invitations_redeliver_stale()
