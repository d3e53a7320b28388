"""Outgoing mail (X-4): rendered in the web process, delivered by a worker with retries and
backoff on temporary errors. Every app sends through here."""

import base64
import logging
import smtplib

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction

logger = logging.getLogger(__name__)


def message_to_payload(message: EmailMessage) -> dict:
    """A JSON-safe description of a message, fit to cross the broker."""
    alternatives = [
        [content, mimetype] for content, mimetype in getattr(message, "alternatives", [])
    ]
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "alternatives": alternatives,
        "attachments": [
            [
                name,
                base64.b64encode(
                    content if isinstance(content, bytes) else content.encode()
                ).decode(),
                mimetype,
            ]
            for name, content, mimetype in message.attachments
        ],
    }


def payload_to_message(payload: dict) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload["from_email"],
        to=payload["to"],
        cc=payload.get("cc") or None,
        bcc=payload.get("bcc") or None,
        reply_to=payload.get("reply_to") or None,
        headers=payload.get("headers") or None,
    )
    for content, mimetype in payload.get("alternatives", []):
        message.attach_alternative(content, mimetype)
    for name, content, mimetype in payload.get("attachments", []):
        message.attach(name, base64.b64decode(content), mimetype)
    return message


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


def mail_enqueue(message: EmailMessage) -> None:
    """Hand the message to a worker once the current transaction commits."""
    payload = message_to_payload(message)
    transaction.on_commit(lambda: send_email_task.delay(payload))
