"""Delivery reports from the mail provider (AUT-9; DESIGN: Events and the workers, 5).

The provider calls its anymail tracking webhook (/hooks/mail/<provider>/tracking/,
invitations.hooks); anymail checks the call (HTTP basic auth with ANYMAIL_WEBHOOK_SECRET, and
the provider's signature where it signs, e.g. Mailgun's webhook signing key) and turns the
provider's payload into AnymailTrackingEvents, which `delivery_report_apply` applies here.

An event finds its invitation by the metadata the send carried (invitations.delivery tags
every message with the invitation's id and send number), else by the provider's message id
recorded with the send; the address must be the invitation's either way. A bounce, reject or
complaint of the current send marks the invitation and tells its kind's adapter, which logs
the failure (the portal kind writes a FailedInvitation with the provider's words). Providers
repeat reports: a report that changes nothing writes nothing, so a repeat logs no second row."""

import logging

from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from .kinds import invitation_kind
from .models import DeliveryAttempt, Invitation

logger = logging.getLogger(__name__)

# anymail's normalised event types → what the invitation records; the rest (opened, clicked,
# deferred, queued …) leave it as it is.
REPORTED = {
    "delivered": Invitation.Delivery.DELIVERED,
    "bounced": Invitation.Delivery.BOUNCED,
    "rejected": Invitation.Delivery.REJECTED,
    "failed": Invitation.Delivery.REJECTED,
    "complained": Invitation.Delivery.COMPLAINED,
}
FAILURES = {
    Invitation.Delivery.BOUNCED,
    Invitation.Delivery.REJECTED,
    Invitation.Delivery.COMPLAINED,
}


def report_detail(event) -> str:
    """The provider's own words on what happened, as one line of at most 2,000 characters."""
    parts = [event.description, event.mta_response]
    if not any(parts) and event.reject_reason:
        parts = [event.reject_reason]
    text = " — ".join(" ".join(str(part).split()) for part in parts if part)
    return text[:2000]


def _positive_int(value) -> int | None:
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _reported_send(event) -> tuple[int | None, int | None]:
    """(invitation id, send number) of the event: from its metadata, else from the message
    id a send recorded."""
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    invitation_id = _positive_int(metadata.get("invitation"))
    if invitation_id is not None:
        return invitation_id, _positive_int(metadata.get("send"))
    message_id = str(event.message_id or "").strip()[:255]
    if not message_id:
        return None, None
    attempt = (
        DeliveryAttempt.objects.filter(provider_message_id=message_id)
        .values_list("invitation_id", "send_number")
        .first()
    )
    return attempt or (None, None)


def delivery_report_apply(*, event, esp_name: str) -> bool:
    """Apply one tracking event; True when it changed an invitation. Events of other mail
    (not an invitation's), of an older send, or of another address change nothing."""
    state = REPORTED.get(event.event_type)
    if state is None:
        return False
    with scopes_disabled():
        invitation_id, send_number = _reported_send(event)
        if invitation_id is None:
            return False
        with transaction.atomic():
            invitation = Invitation.objects.select_for_update().filter(pk=invitation_id).first()
            if invitation is None or not _same_send(invitation, event, send_number):
                return False
            if not delivery_report_record(
                invitation=invitation, state=state, detail=report_detail(event)
            ):
                return False
    logger.info("Invitation %s: %s reported %s", invitation_id, esp_name, state)
    return True


def delivery_report_record(*, invitation: Invitation, state: str, detail: str) -> bool:
    """Record `state` on the (locked) invitation's current send and, for a failure, tell its
    kind's adapter. False when it changes nothing: a repeat, or "delivered" after a failure
    (the failure stands)."""
    if invitation.delivery == state or invitation.delivery in FAILURES:
        return False
    invitation.delivery = state
    invitation.delivery_detail = detail[:2000]
    invitation.delivery_reported_at = timezone.now()
    invitation.save(update_fields=["delivery", "delivery_detail", "delivery_reported_at"])
    if state in FAILURES:
        invitation_kind(invitation.kind).delivery_failed(invitation, state=state, detail=detail)
    return True


def _same_send(invitation: Invitation, event, send_number: int | None) -> bool:
    """The report is about the invitation's current send, to its address."""
    if send_number is not None and send_number != invitation.sent_count:
        return False
    recipient = str(event.recipient or "").strip().lower()
    return bool(recipient) and recipient == invitation.email.lower()
