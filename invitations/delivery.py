"""Delivering invitation mail (X-4; DESIGN: Events and the workers, 5): the web process
renders the message, a worker hands it to the provider. Every attempt is recorded, temporary
errors are retried with backoff, a rejected address is not, and a send that already went out
(or that a newer send replaced) is never sent. The same for every kind of invitation."""

import re
import smtplib
import socket
import time
from concurrent.futures import Future, ThreadPoolExecutor

from celery import shared_task
from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from crm_portal.exceptions import DATABASE_AWAY
from crm_portal.mail import (
    MAX_RETRIES,
    PERMANENT_MAIL_ERRORS,
    TEMPORARY_MAIL_ERRORS,
    backoff,
    payload_to_message,
)
from crm_portal.tenancy import TenantTask

from .models import DeliveryAttempt, Invitation
from .webhooks import delivery_report_record


def attempt_start(*, invitation_id: int, org_id: int, send_number: int, db=None) -> int | None:
    """Record, before the mail is handed over, that it is being handed over — if this send is
    still the invitation's current one; returns the attempt's id, or None when a newer send
    (an admin's, or the stale sweeper's) replaced it meanwhile: then nothing is sent. The
    check and the INSERT are one statement that waits for a sweeper holding the invitation's
    lock and re-reads it, so a send is never handed over twice by a worker and the sweeper
    racing. The attempt is finished (attempt_finish) with its outcome; one that stays
    "sending" is a worker that died in between: its mail may or may not have left, and a
    second copy may follow — visible in the delivery log as "interrupted" (issue 16). `db`: a
    connection shared with a helper thread (AttemptRecords), else this thread's."""
    db = db or connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":  # SQLite: one writer at a time
        current = Invitation.objects.filter(
            pk=invitation_id, org_id=org_id, sent_count=send_number, status=Invitation.Status.SENT
        )
        if not current.exists():
            return None
        return DeliveryAttempt.objects.create(
            org_id=org_id,
            invitation_id=invitation_id,
            send_number=send_number,
            outcome=DeliveryAttempt.Outcome.SENDING,
        ).pk
    with db.cursor() as cursor:
        cursor.execute(
            f"{ATTEMPT_START_SQL} RETURNING id",
            attempt_start_params(
                invitation_id=invitation_id, org_id=org_id, send_number=send_number
            ),
        )
        row = cursor.fetchone()
    return row[0] if row else None


# attempt_start's one statement: the attempt's row, only while the send is the invitation's
# current one (re-read after a lock holder commits: FOR SHARE), and the invitation the org's.
ATTEMPT_START_SQL = (
    f"INSERT INTO {DeliveryAttempt._meta.db_table} "
    "(org_id, invitation_id, send_number, outcome, error, provider_message_id, created_at) "
    "SELECT org_id, id, %s, %s, '', '', now() "
    f"FROM {Invitation._meta.db_table} "
    "WHERE id = %s AND org_id = %s AND sent_count = %s AND status = %s FOR SHARE"
)


def attempt_start_params(*, invitation_id: int, org_id: int, send_number: int) -> list:
    return [
        send_number,
        DeliveryAttempt.Outcome.SENDING,
        invitation_id,
        org_id,
        send_number,
        Invitation.Status.SENT,
    ]


def attempt_finish(attempt_id: int, *, outcome, error="", message_id="", db=None) -> None:
    """The attempt's outcome, in one UPDATE; on `db` (a connection shared with a helper
    thread, AttemptRecords) when given."""
    values = dict(
        outcome=outcome, error=str(error)[:2000], provider_message_id=(message_id or "")[:255]
    )
    if db is None:
        DeliveryAttempt.objects.filter(pk=attempt_id).update(**values)
        return
    with db.cursor() as cursor:
        cursor.execute(
            f"UPDATE {DeliveryAttempt._meta.db_table} SET outcome = %s, error = %s,"
            " provider_message_id = %s WHERE id = %s",
            [*values.values(), attempt_id],
        )


def attempt_finish_and_start(gone: tuple[int, str], record: dict, *, db) -> int | None:
    """sent_record_write of the `gone` (attempt id, provider message id) and attempt_start of
    `record` in ONE statement on PostgreSQL — one commit a mail in a batch instead of two; the
    same rows as the two calls write."""
    attempt_id, message_id = gone
    with db.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (UPDATE {DeliveryAttempt._meta.db_table} SET outcome = %s,"
            " error = '', provider_message_id = %s WHERE id = %s) "
            f"{ATTEMPT_START_SQL} RETURNING id",
            [
                DeliveryAttempt.Outcome.SENT,
                (message_id or "")[:255],
                attempt_id,
                *attempt_start_params(**record),
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def attempts_interrupted_mark(invitation_ids: list[int]) -> int:
    """Attempts left "sending" by a worker that died while handing their mail over become
    "interrupted", before the same invitations are delivered again (one statement)."""
    return DeliveryAttempt.objects.filter(
        invitation_id__in=invitation_ids, outcome=DeliveryAttempt.Outcome.SENDING
    ).update(outcome=DeliveryAttempt.Outcome.INTERRUPTED)


def tracked_message(payload: dict, *, invitation_id: int, send_number: int):
    """The message to send, tagged for the provider's tracking webhook (AUT-9): anymail
    passes `metadata` to the provider, which hands it back with each delivery report
    (invitations.webhooks). Other backends ignore it."""
    message = payload_to_message(payload)
    message.metadata = {"invitation": str(invitation_id), "send": str(send_number)}
    return message


def provider_message_id(message) -> str:
    """The provider's id of a message an anymail backend sent; "" for other backends."""
    status = getattr(message, "anymail_status", None)
    return (getattr(status, "message_id", None) or "") if status else ""


def delivery_is_due(*, invitation_id: int, send_number: int) -> bool:
    """False when this send already went out, or a newer send replaced it."""
    invitation = Invitation.objects.filter(pk=invitation_id).first()
    if invitation is None or invitation.sent_count != send_number:
        return False
    if invitation.status != Invitation.Status.SENT:
        return False
    return not invitation.attempts.filter(
        send_number=send_number, outcome=DeliveryAttempt.Outcome.SENT
    ).exists()


def invitation_deliver(
    *, org_id: int, invitation_id: int, send_number: int, payload: dict, last_try: bool
) -> str:
    """Send one invitation mail and record the attempt: "sent", "failed" or "skipped". A
    temporary error is recorded as retrying and raised again, unless this is the last try."""
    if not delivery_is_due(invitation_id=invitation_id, send_number=send_number):
        return "skipped"
    attempts_interrupted_mark([invitation_id])
    record = dict(org_id=org_id, invitation_id=invitation_id, send_number=send_number)
    attempt = attempt_start(**record)
    if attempt is None:
        return "skipped"
    message = tracked_message(payload, invitation_id=invitation_id, send_number=send_number)
    try:
        message.send()
    except PERMANENT_MAIL_ERRORS as exc:
        with transaction.atomic():
            attempt_finish(attempt, outcome=DeliveryAttempt.Outcome.FAILED, error=exc)
            invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
            state = Invitation.Delivery.REJECTED
            delivery_report_record(invitation=invitation, state=state, detail=str(exc))
        return "failed"
    except TEMPORARY_MAIL_ERRORS as exc:
        if last_try:
            attempt_finish(attempt, outcome=DeliveryAttempt.Outcome.FAILED, error=exc)
            return "failed"
        attempt_finish(attempt, outcome=DeliveryAttempt.Outcome.RETRYING, error=exc)
        raise
    sent_record_write(attempt, message_id=provider_message_id(message))
    return "sent"


def deliveries_due(deliveries: list) -> list:
    """The (invitation id, send number, payload) entries whose send is still due
    (delivery_is_due for each), in two queries whatever their number."""
    ids = [invitation_id for invitation_id, _number, _payload in deliveries]
    current = dict(
        Invitation.objects.filter(pk__in=ids, status=Invitation.Status.SENT).values_list(
            "pk", "sent_count"
        )
    )
    gone = set(
        DeliveryAttempt.objects.filter(
            invitation_id__in=ids, outcome=DeliveryAttempt.Outcome.SENT
        ).values_list("invitation_id", "send_number")
    )
    return [
        (invitation_id, number, payload)
        for invitation_id, number, payload in deliveries
        if current.get(invitation_id) == number and (invitation_id, number) not in gone
    ]


def invitations_deliver(*, org_id: int, deliveries: list) -> dict[str, int]:
    """Send a batch of invitation mails over ONE connection to the mail backend, each attempt
    recorded as invitation_deliver records it: each attempt is recorded "sending" before its
    mail is handed over, and the mail before it finished, before the server may accept it
    (so a worker killed mid-batch re-sends at most the one in flight, as the single task
    would, and that one shows in the delivery log as "interrupted"; one that a newer send
    replaced meanwhile is skipped), a rejected address is recorded failed, a temporary error
    is recorded as retrying and that mail handed to its own deliver_invitation_task (with its
    backoff and retries) while the batch goes on over a fresh connection. A backend that
    cannot be reached at all raises (the task retries the batch; what went out is skipped
    then). Over SMTP on PostgreSQL those records are written while the mail travels up to the
    end of its data (AttemptRecords, message_send). Returns counts by outcome."""
    counts = {"sent": 0, "failed": 0, "retrying": 0, "skipped": 0}
    due = deliveries_due(deliveries)
    counts["skipped"] = len(deliveries) - len(due)
    if not due:
        return counts
    attempts_interrupted_mark([invitation_id for invitation_id, _number, _payload in due])
    backend = get_connection()
    backend.open()
    records = AttemptRecords()
    try:
        for invitation_id, send_number, payload in due:
            record = dict(org_id=org_id, invitation_id=invitation_id, send_number=send_number)
            message = tracked_message(payload, invitation_id=invitation_id, send_number=send_number)
            message.connection = backend
            records.start(**record)
            try:
                sent = message_send(backend, message, before_accept=records.attempt)
            except PERMANENT_MAIL_ERRORS as exc:
                attempt = records.attempt()
                if attempt is not None:
                    with transaction.atomic():
                        attempt_finish(attempt, outcome=DeliveryAttempt.Outcome.FAILED, error=exc)
                        invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
                        state = Invitation.Delivery.REJECTED
                        delivery_report_record(invitation=invitation, state=state, detail=str(exc))
                counts["failed" if attempt is not None else "skipped"] += 1
                continue
            except TEMPORARY_MAIL_ERRORS as exc:
                attempt = records.attempt()
                if attempt is not None:
                    attempt_finish(attempt, outcome=DeliveryAttempt.Outcome.RETRYING, error=exc)
                    deliver_invitation_task.apply_async(
                        (org_id, invitation_id, send_number, payload), countdown=backoff(0)
                    )
                counts["retrying" if attempt is not None else "skipped"] += 1
                backend.close()
                backend.open()  # a broken connection is not reused; unreachable: raises
                continue
            if not sent:  # replaced by a newer send since deliveries_due: not handed over
                counts["skipped"] += 1
                backend.close()
                backend.open()  # over SMTP the unfinished mail was dropped with the connection
                continue
            records.sent(message_id=provider_message_id(message))
            counts["sent"] += 1
    finally:
        try:
            records.close()
        finally:
            backend.close()
    return counts


class AttemptRecords:
    """A batch's attempt records, written in a helper thread on this thread's own database
    connection (PostgreSQL; elsewhere at once, in this thread): for each mail, the one before
    it finished as sent (sent_record_write), then its own attempt started (attempt_start),
    while the mail travels; `attempt()` waits for both and gives the attempt's id (None: a
    newer send replaced it) before the server may accept the mail, and before this thread
    touches the database. The order of a single send stays — a mail is accepted only once
    the one before it is recorded — so a worker killed mid-batch still re-sends at most the
    mail in flight; only the records' commits and the mail's way up to the end of its data
    overlap."""

    def __init__(self):
        self.database = connections[DEFAULT_DB_ALIAS]
        self.helper = None
        if self.database.vendor == "postgresql":
            self.database.inc_thread_sharing()
            self.helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attempts")
        self.pending, self.current, self.gone = None, None, None

    def start(self, **record) -> None:
        """The next mail's attempt, after the one before it (if sent) is recorded."""
        self.attempt()
        gone, self.gone = self.gone, None
        self.current = None
        self.pending = self.run(self.finish_then_start, gone, record)

    def finish_then_start(self, gone, record) -> int | None:
        db = self.database if self.helper else None
        if gone is not None and db is not None:
            try:
                return attempt_finish_and_start(gone, record, db=db)
            except DATABASE_AWAY:
                db.close()  # then one by one: the finish with its patience, then the start
        if gone is not None:
            sent_record_write(gone[0], message_id=gone[1], db=db)
        return attempt_start(**record, db=db)

    def run(self, function, *args) -> Future:
        if self.helper is not None:
            return self.helper.submit(function, *args)
        done = Future()
        try:
            done.set_result(function(*args))
        except Exception as error:
            done.set_exception(error)
        return done

    def attempt(self) -> int | None:
        """The current mail's attempt id, once it and the one before are committed."""
        pending, self.pending = self.pending, None
        if pending is not None:
            self.current = pending.result()
        return self.current

    def sent(self, *, message_id: str) -> None:
        """The current mail went out: recorded with the next one's start, or at close."""
        self.gone = (self.attempt(), message_id)

    def close(self) -> None:
        try:
            self.attempt()
            if self.gone is not None:
                gone, self.gone = self.gone, None
                self.run(
                    lambda: sent_record_write(
                        gone[0], message_id=gone[1], db=self.database if self.helper else None
                    )
                ).result()
        finally:
            if self.helper is not None:
                self.helper.shutdown()
                self.database.dec_thread_sharing()


def message_send(backend, message, *, before_accept) -> bool:
    """Send `message` over `backend`, calling `before_accept` (which may block) before the
    provider may accept it; False (nothing sent) when it returns None. Over Django's SMTP
    backend, MAIL, RCPT, DATA and the content go first and only the end of the data waits:
    a server that never gets it delivers nothing (on None the connection is dropped). Other
    backends (an HTTP API) get the whole message after `before_accept`."""
    smtp = getattr(backend, "connection", None)
    if not isinstance(backend, SmtpBackend) or not isinstance(smtp, smtplib.SMTP):
        if before_accept() is None:
            return False
        message.send()
        return True
    if not message.recipients():
        return before_accept() is not None
    encoding = message.encoding or settings.DEFAULT_CHARSET
    sender = sanitize_address(message.from_email, encoding)
    recipients = [sanitize_address(address, encoding) for address in message.recipients()]
    smtp_data_up_to_end(smtp, sender, recipients, message.message().as_bytes(linesep="\r\n"))
    try:
        accept = before_accept() is not None
    except BaseException:
        smtp.close()  # mid-data, no QUIT: the server discards the unfinished mail
        raise
    if not accept:
        smtp.close()
        return False
    smtp_data_end(smtp)
    return True


# Compiled once: each mail's MIME boundary pattern would push it out of re's cache.
LINE_STARTING_WITH_A_DOT = re.compile(rb"(?m)^\.")


def smtp_data_up_to_end(smtp: smtplib.SMTP, sender: str, recipients: list, raw: bytes) -> None:
    """smtplib.SMTP.sendmail up to, not including, the line that ends the data: the same
    envelope, the same refusals raised (a sender or every recipient refused, DATA refused)."""
    # The end of the data follows the content as a second small write with no reply between:
    # without this, Nagle's algorithm holds it until the server's delayed ACK (~40 ms).
    if smtp.sock is not None:  # else the next line raises SMTPServerDisconnected, as sendmail
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    smtp.ehlo_or_helo_if_needed()
    options = [f"size={len(raw)}"] if smtp.has_extn("size") else []
    code, reply = smtp.mail(sender, options)
    if code != 250:
        smtp_transaction_abandon(smtp, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = {}
    for recipient in recipients:
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
    if len(refused) == len(recipients):
        smtp_transaction_abandon(smtp, code)
        raise smtplib.SMTPRecipientsRefused(refused)
    smtp.putcmd("data")
    code, reply = smtp.getreply()
    if code != 354:
        smtp_transaction_abandon(smtp, code)
        raise smtplib.SMTPDataError(code, reply)
    data = LINE_STARTING_WITH_A_DOT.sub(b"..", raw)  # smtplib's dot-stuffing
    smtp.send(data if data.endswith(b"\r\n") else data + b"\r\n")


def smtp_transaction_abandon(smtp: smtplib.SMTP, code: int) -> None:
    """As sendmail does on a refusal: a 421 closes the connection, else RSET (a server gone
    meanwhile is no second error)."""
    if code == 421:
        smtp.close()
        return
    try:
        smtp.rset()
    except smtplib.SMTPServerDisconnected:
        pass


def smtp_data_end(smtp: smtplib.SMTP) -> None:
    """The end of the data: the server accepts the mail now (250) or refuses it."""
    smtp.send(b".\r\n")
    code, reply = smtp.getreply()
    if code != 250:
        smtp_transaction_abandon(smtp, code)
        raise smtplib.SMTPDataError(code, reply)


# How long a worker keeps trying to record a send that went out while the database is away.
SENT_RECORD_PATIENCE_SECONDS = 120


def sent_record_write(attempt_id: int, *, message_id: str, db=None) -> None:
    """Record a send that went out. The mail has left: if the database is away just now (a
    restart, a failover), wait for it rather than let the task's retry send the mail again
    (issue 16 drill: a PostgreSQL restart gives no duplicate). Only past the patience does
    the error go up — and the retry may then send a second copy."""
    deadline = time.monotonic() + SENT_RECORD_PATIENCE_SECONDS
    pause = 0.5
    while True:
        try:
            attempt_finish(
                attempt_id, outcome=DeliveryAttempt.Outcome.SENT, message_id=message_id, db=db
            )
            return
        except DATABASE_AWAY:
            if time.monotonic() + pause > deadline:
                raise
            (db or connection).close()  # the next query opens a new connection
            time.sleep(pause)
            pause = min(pause * 2, 10)


# Named as it was when it lived in invitations/tasks.py, so queued messages still route.
@shared_task(
    bind=True,
    base=TenantTask,
    max_retries=MAX_RETRIES,
    acks_late=True,
    name="invitations.tasks.deliver_invitation_task",
)
def deliver_invitation_task(self, org_id, invitation_id, send_number, payload) -> str:
    try:
        return invitation_deliver(
            org_id=org_id,
            invitation_id=invitation_id,
            send_number=send_number,
            payload=payload,
            last_try=self.request.retries >= MAX_RETRIES,
        )
    except (*TEMPORARY_MAIL_ERRORS, *DATABASE_AWAY) as exc:
        # The database away for a moment loses no mail either (issue 16): the attempt is tried
        # again; delivery_is_due keeps a send recorded as gone out from going twice.
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


def delivery_enqueue(*, invitation: Invitation, payload: dict) -> None:
    """Hand the rendered mail of the invitation's current send to a worker on commit."""
    org_id, invitation_id, send_number = invitation.org_id, invitation.pk, invitation.sent_count
    transaction.on_commit(
        lambda: deliver_invitation_task.delay(org_id, invitation_id, send_number, payload)
    )


@shared_task(
    bind=True,
    base=TenantTask,
    max_retries=MAX_RETRIES,
    acks_late=True,
    name="invitations.tasks.deliver_invitations_task",
)
def deliver_invitations_task(self, org_id, deliveries) -> dict:
    """A batch of [invitation id, send number, payload] over one connection
    (invitations_deliver); the backend or the database away retries the batch, whose mails
    that went out meanwhile are skipped then (deliveries_due)."""
    try:
        return invitations_deliver(org_id=org_id, deliveries=[tuple(d) for d in deliveries])
    except (*TEMPORARY_MAIL_ERRORS, *DATABASE_AWAY) as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


def deliveries_enqueue(*, org_id: int, deliveries: list) -> None:
    """Hand a batch of rendered mails [(invitation id, send number, payload)] to workers on
    commit, INVITATION_DELIVERY_BATCH_SIZE a task (a single send — an admin's invite — keeps
    deliver_invitation_task; so does every mail when the setting is 1)."""
    size = settings.INVITATION_DELIVERY_BATCH_SIZE
    if size <= 1:
        for invitation_id, send_number, payload in deliveries:
            transaction.on_commit(
                lambda i=invitation_id, n=send_number, p=payload: deliver_invitation_task.delay(
                    org_id, i, n, p
                )
            )
        return
    chunks = [
        [list(entry) for entry in deliveries[start : start + size]]
        for start in range(0, len(deliveries), size)
    ]
    transaction.on_commit(
        lambda: [deliver_invitations_task.delay(org_id, chunk) for chunk in chunks]
    )
