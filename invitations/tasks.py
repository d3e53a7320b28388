import smtplib

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from celery import shared_task

from .mail import payload_to_message

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


@shared_task(bind=True, max_retries=8, acks_late=True)
def send_email_task(self, payload: dict) -> None:
    try:
        payload_to_message(payload).send()
    except AnymailRecipientsRefused:
        raise  # a rejected address does not get better by retrying
    except TEMPORARY_MAIL_ERRORS as exc:
        raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 3600)) from exc
