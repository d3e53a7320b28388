import smtplib

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from celery import shared_task
from django.conf import settings

from crm_portal.tenancy import TenantTask

from .mail import payload_to_message
from .models import DeliveryAttempt
from .services import delivery_is_due, delivery_record

# Worth another try later: the provider or the network hiccupped.
TEMPORARY_MAIL_ERRORS = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    smtplib.SMTPDataError,
    ConnectionError,
    TimeoutError,
    AnymailAPIError,
)
# A rejected address does not get better by retrying.
PERMANENT_MAIL_ERRORS = (AnymailRecipientsRefused, smtplib.SMTPRecipientsRefused)
MAX_RETRIES = 8


def backoff(retries: int) -> int:
    """Seconds before retry number `retries` + 1: doubling from MAIL_RETRY_BASE_SECONDS."""
    return min(settings.MAIL_RETRY_BASE_SECONDS * 2**retries, 3600)


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def send_email_task(self, payload: dict) -> None:
    try:
        payload_to_message(payload).send()
    except PERMANENT_MAIL_ERRORS:
        raise
    except TEMPORARY_MAIL_ERRORS as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(bind=True, base=TenantTask, max_retries=MAX_RETRIES, acks_late=True)
def deliver_invitation_task(self, org_id, invitation_id, send_number, payload) -> str:
    """Send one invitation mail; every attempt is recorded, and a send that already went out
    (or was replaced by a newer one) is not sent again."""
    if not delivery_is_due(invitation_id=invitation_id, send_number=send_number):
        return "skipped"
    record = dict(org_id=org_id, invitation_id=invitation_id, send_number=send_number)
    try:
        payload_to_message(payload).send()
    except PERMANENT_MAIL_ERRORS as exc:
        delivery_record(**record, outcome=DeliveryAttempt.Outcome.FAILED, error=exc)
        return "failed"
    except TEMPORARY_MAIL_ERRORS as exc:
        if self.request.retries >= MAX_RETRIES:
            delivery_record(**record, outcome=DeliveryAttempt.Outcome.FAILED, error=exc)
            return "failed"
        delivery_record(**record, outcome=DeliveryAttempt.Outcome.RETRYING, error=exc)
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    delivery_record(**record, outcome=DeliveryAttempt.Outcome.SENT)
    return "sent"
