"""Mail sent from a contact's page (MAIL-5): delivered by a worker through the mail provider,
and stored and linked as a synced message is. Its Message-ID is ours, so when the sender's
mailbox later syncs its Sent folder, the same message is not stored twice."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid
from django.db import transaction
from django.utils.translation import gettext as _

from crm_portal.exceptions import ActionRefused
from crm_portal.mail import mail_enqueue
from records.models import Contact
from users.models import CrmUser
from users.permissions import require_same_org

from .models import Message
from .parsing import message_parse
from .sync import message_link

MAX_SUBJECT = 200
MAX_BODY = 20_000


def contact_email_send(
    *, org, actor: CrmUser, contact: Contact, subject: str, body: str
) -> Message:
    require_same_org(org, actor, contact)
    subject = " ".join((subject or "").split())[:MAX_SUBJECT]  # no CR/LF in a subject
    if not contact.email:
        raise ActionRefused(_("This contact has no email address."))
    if not subject:
        raise ActionRefused(_("Enter a subject."), field="subject")
    if not (body or "").strip() or len(body) > MAX_BODY:
        raise ActionRefused(_("Write a message of at most 20,000 characters."), field="body")
    email = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[contact.email],
        reply_to=[actor.email],
        headers={"Message-ID": make_msgid(domain=actor.email.rsplit("@", 1)[-1])},
    )
    raw = email.message().as_bytes()
    parsed = message_parse(raw)
    with transaction.atomic():
        message = Message.objects.create(
            org=org,
            key=parsed.key,
            message_id=parsed.message_id,
            subject=parsed.subject,
            from_address=actor.email.lower(),
            from_name=str(actor)[:200],
            to=parsed.to,
            sent_at=parsed.sent_at,
            body_text=parsed.body_text,
            size=len(raw),
            sent_by=actor,
        )
        message_link(org.pk, {message.pk: parsed})
        mail_enqueue(email)
    return message
