from celery import shared_task

from crm_portal.mail import (
    MAX_RETRIES,
    PERMANENT_MAIL_ERRORS,
    TEMPORARY_MAIL_ERRORS,
    backoff,
    payload_to_message,
)
from crm_portal.tenancy import TenantTask

from .models import DeliveryAttempt
from .services import delivery_is_due, delivery_record


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
