"""Invitation mail delivery (X-4; DESIGN: Invitations): through a Celery task, every attempt
recorded, retried with backoff on temporary errors, never on a rejected address, and never
sent twice — against a real SMTP server (aiosmtpd)."""

import socket

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django_scopes import scope, scopes_disabled

from crm_portal.mail import backoff
from invitations.crm_users import crm_user_add_and_invite, crm_users_reinvite
from invitations.delivery import deliver_invitation_task, deliver_invitations_task
from invitations.models import DeliveryAttempt, Invitation
from tests.users.factories import builtin_profile, role_named


class ScriptedSMTP:
    """Accepts mail, except: refuses RCPT for addresses starting with 'bounce', and answers
    DATA with a temporary error `defer` times before accepting."""

    def __init__(self, defer=0):
        self.defer = defer
        self.received = []
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1  # one EHLO per SMTP connection
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.defer:
            self.defer -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        self.received.append(envelope)
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    def start(defer=0):
        handler = ScriptedSMTP(defer=defer)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        started.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        return handler

    started = []
    yield start
    for controller in started:
        controller.stop()


def invite(org, actor, email, capture):
    with scope(org=org), capture(execute=True):
        membership = crm_user_add_and_invite(
            org=org,
            actor=actor,
            first_name="Kenji",
            last_name="Sato",
            email=email,
            role=role_named(org, "Manager"),
            profile=builtin_profile(org, "standard"),
        )
    with scopes_disabled():
        return Invitation.objects.get(crm_user=membership)


def outcomes(invitation):
    with scopes_disabled():
        return list(
            DeliveryAttempt.objects.filter(invitation=invitation)
            .order_by("pk")
            .values_list("send_number", "outcome")
        )


def test_x4_invitation_is_delivered_over_smtp_and_recorded(
    smtp, org_a, admin_a, django_capture_on_commit_callbacks
):
    server = smtp()
    invitation = invite(org_a, admin_a, "kenji@example.jp", django_capture_on_commit_callbacks)
    assert [e.rcpt_tos for e in server.received] == [["kenji@example.jp"]]
    assert outcomes(invitation) == [(1, "sent")]
    assert b"/invite/" in server.received[0].content


def test_x4_backoff_doubles_up_to_an_hour(settings):
    """The retries themselves run in a real worker: tests/integration/test_mail_worker.py."""
    settings.MAIL_RETRY_BASE_SECONDS = 30
    assert [backoff(n) for n in range(4)] == [30, 60, 120, 240]
    assert backoff(20) == 3600


def test_x4_rejected_address_fails_without_retry(
    smtp, org_a, admin_a, django_capture_on_commit_callbacks
):
    server = smtp()
    invitation = invite(org_a, admin_a, "bounce@example.jp", django_capture_on_commit_callbacks)
    assert outcomes(invitation) == [(1, "failed")]
    assert server.received == []
    with scopes_disabled():
        assert (
            "Recipient address rejected" in DeliveryAttempt.objects.get(invitation=invitation).error
        )


def test_x4_a_delivered_send_is_never_sent_again(
    smtp, org_a, admin_a, django_capture_on_commit_callbacks
):
    """A redelivered task (worker died after sending, broker re-queued it) sends nothing."""
    server = smtp()
    invitation = invite(org_a, admin_a, "kenji@example.jp", django_capture_on_commit_callbacks)
    payload = {"subject": "x", "body": "x", "from_email": "a@b.c", "to": ["kenji@example.jp"]}
    again = deliver_invitation_task.apply(args=(org_a.pk, invitation.pk, 1, payload)).get()
    assert again == "skipped"
    assert len(server.received) == 1 and outcomes(invitation) == [(1, "sent")]


def test_usr5_a_replaced_send_is_not_delivered(
    smtp, org_a, admin_a, django_capture_on_commit_callbacks
):
    """A send still queued when the user was re-invited carries a dead link: skip it."""
    server = smtp()
    invitation = invite(org_a, admin_a, "kenji@example.jp", django_capture_on_commit_callbacks)
    with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
        crm_users_reinvite(org=org_a, actor=admin_a, memberships=[invitation.crm_user])
    payload = {"subject": "x", "body": "x", "from_email": "a@b.c", "to": ["kenji@example.jp"]}
    stale = deliver_invitation_task.apply(args=(org_a.pk, invitation.pk, 1, payload)).get()
    assert stale == "skipped"
    assert len(server.received) == 2
    assert outcomes(invitation) == [(1, "sent"), (2, "sent")]
    assert mail.outbox == []  # everything went through the real SMTP server


def licences(org):
    """A paid plan with room for the batch's CRM users (the free plan allows 3)."""
    org.plan, org.purchased_licences = org.Plan.PAID, 20
    org.save()


def batch_of(invitations):
    return [
        [i.pk, i.sent_count, {"subject": "x", "body": "x", "from_email": "a@b.c", "to": [i.email]}]
        for i in invitations
    ]


def test_aut12_a_batch_of_mails_goes_over_one_connection_each_send_once(
    smtp, org_a, admin_a, django_capture_on_commit_callbacks
):
    """AUT-12, X-4: deliver_invitations_task sends a batch over ONE SMTP connection and
    records each attempt; a send that already went out is skipped, a rejected address is
    recorded failed, and the whole batch delivered again sends nothing."""
    server = smtp()
    licences(org_a)
    done = invite(org_a, admin_a, "kenji@example.jp", django_capture_on_commit_callbacks)
    due = [
        invite(org_a, admin_a, f"taro{n}@example.jp", django_capture_on_commit_callbacks)
        for n in range(3)
    ]
    with scopes_disabled():  # their sends as if not delivered yet
        DeliveryAttempt.objects.filter(invitation__in=due).delete()
    server.received.clear()
    server.connections = 0
    batch = batch_of([done, *due])
    assert deliver_invitations_task.apply(args=(org_a.pk, batch)).get() == {
        "sent": 3,
        "failed": 0,
        "retrying": 0,
        "skipped": 1,
    }
    assert sorted(e.rcpt_tos[0] for e in server.received) == [
        "taro0@example.jp",
        "taro1@example.jp",
        "taro2@example.jp",
    ]
    assert server.connections == 1
    assert [outcomes(i) for i in due] == [[(1, "sent")]] * 3
    assert outcomes(done) == [(1, "sent")]
    again = deliver_invitations_task.apply(args=(org_a.pk, batch)).get()
    assert again["skipped"] == 4 and len(server.received) == 3


def test_aut12_a_temporary_error_in_a_batch_retries_that_mail_alone(
    smtp, org_a, admin_a, django_capture_on_commit_callbacks
):
    """AUT-12, X-4: a temporary error on one mail of a batch is recorded as retrying and the
    mail handed to its own deliver_invitation_task (sent then, once); the batch goes on over
    a fresh connection; a rejected address is failed, not retried."""
    server = smtp()
    licences(org_a)
    due = [
        invite(org_a, admin_a, f"hana{n}@example.jp", django_capture_on_commit_callbacks)
        for n in range(2)
    ]
    rejected = invite(org_a, admin_a, "bounce@example.jp", django_capture_on_commit_callbacks)
    with scopes_disabled():
        DeliveryAttempt.objects.filter(invitation__in=[*due, rejected]).delete()
    server.received.clear()
    server.defer = 1  # the batch's first DATA answers 451
    result = deliver_invitations_task.apply(args=(org_a.pk, batch_of([*due, rejected]))).get()
    assert result == {"sent": 1, "failed": 1, "retrying": 1, "skipped": 0}
    assert outcomes(due[0]) == [(1, "retrying"), (1, "sent")]  # its own task, run eagerly
    assert outcomes(due[1]) == [(1, "sent")]
    assert outcomes(rejected) == [(1, "failed")]
    assert sorted(e.rcpt_tos[0] for e in server.received) == [
        "hana0@example.jp",
        "hana1@example.jp",
    ]


def test_issue16_a_send_whose_task_died_is_sent_again_with_a_fresh_link(
    smtp, org_a, admin_a, django_capture_on_commit_callbacks, settings
):
    """Issue 16 drill, AUT-5: a worker SIGKILLed mid-batch takes its unacknowledged delivery
    task with it (the broker hands it back only after an hour). A send with no delivery
    attempt after INVITATION_DELIVERY_STALE_SECONDS is sent again with a fresh link, once; a
    delivered send, a recent one and a revoked one are left alone; the old task, if it turns
    up, sends nothing."""
    from datetime import timedelta

    from django.utils import timezone

    from invitations.services import invitations_redeliver_stale

    settings.INVITATION_DELIVERY_STALE_SECONDS = 60
    licences(org_a)
    server = smtp()
    delivered = invite(org_a, admin_a, "kenji@example.jp", django_capture_on_commit_callbacks)
    with scope(org=org_a):  # on_commit not run: the delivery task is lost with its worker
        lost = invite(org_a, admin_a, "yuki@example.jp", lambda execute: _no_commit())
        recent = invite(org_a, admin_a, "mai@example.jp", lambda execute: _no_commit())
    earlier = timezone.now() - timedelta(minutes=5)
    with scopes_disabled():
        Invitation.objects.filter(pk__in=[delivered.pk, lost.pk]).update(last_sent_at=earlier)
    old_hash = lost.token_hash

    with django_capture_on_commit_callbacks(execute=True):
        assert invitations_redeliver_stale() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert invitations_redeliver_stale() == 0  # the new send is recent and delivered

    assert sorted(e.rcpt_tos[0] for e in server.received) == ["kenji@example.jp", "yuki@example.jp"]
    with scopes_disabled():
        lost.refresh_from_db()
    assert lost.sent_count == 2 and lost.token_hash != old_hash
    assert outcomes(lost) == [(2, "sent")] and outcomes(recent) == []
    payload = {"subject": "x", "body": "x", "from_email": "a@b.c", "to": ["yuki@example.jp"]}
    assert deliver_invitation_task.apply(args=(org_a.pk, lost.pk, 1, payload)).get() == "skipped"


class _no_commit:
    """A stand-in for the on-commit capture that drops the callbacks (the task never ran)."""

    def __enter__(self):
        return []

    def __exit__(self, *exc):
        return False


def test_issue16_a_mail_a_dead_worker_was_handing_over_shows_as_interrupted(
    smtp, org_a, admin_a, settings, django_capture_on_commit_callbacks
):
    """Issue 16 (X-4): the attempt is recorded "sending" before its mail is handed over. A
    worker SIGKILLed in between leaves it so — the mail may have left — and the broker hands
    the task to another worker, which sends it: the delivery log shows the first attempt as
    interrupted beside the send, and `delivery_log --interrupted` lists it. The same when the
    stale sweeper, not the broker, sends it again."""
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from invitations.delivery import attempt_start
    from invitations.services import invitations_redeliver_stale

    licences(org_a)
    server = smtp()
    with scope(org=org_a):  # on_commit not run: the task is with the worker that dies
        broker = invite(org_a, admin_a, "yuki@example.jp", lambda execute: _no_commit())
        swept = invite(org_a, admin_a, "mai@example.jp", lambda execute: _no_commit())
    for invitation in (broker, swept):
        assert attempt_start(invitation_id=invitation.pk, org_id=org_a.pk, send_number=1)
        assert outcomes(invitation) == [(1, "sending")]

    payload = {"subject": "x", "body": "x", "from_email": "a@b.c", "to": ["yuki@example.jp"]}
    assert deliver_invitation_task.apply(args=(org_a.pk, broker.pk, 1, payload)).get() == "sent"
    assert outcomes(broker) == [(1, "interrupted"), (1, "sent")]

    settings.INVITATION_DELIVERY_STALE_SECONDS = 60
    with scopes_disabled():
        Invitation.objects.filter(pk=swept.pk).update(
            last_sent_at=timezone.now() - timedelta(minutes=5)
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert invitations_redeliver_stale() == 0  # a fresh "sending": a worker on it now
    with scopes_disabled():
        DeliveryAttempt.objects.filter(invitation=swept).update(
            created_at=timezone.now() - timedelta(minutes=5)
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert invitations_redeliver_stale() == 1
    assert outcomes(swept) == [(1, "interrupted"), (2, "sent")]
    assert sorted(e.rcpt_tos[0] for e in server.received) == ["mai@example.jp", "yuki@example.jp"]

    out = StringIO()
    call_command("delivery_log", "--interrupted", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[-1] == "2 interrupted attempt(s) in the last 24 h.", lines
    assert sorted(line.split("\t")[3:5] for line in lines[:2]) == [
        ["mai@example.jp", "interrupted"],
        ["yuki@example.jp", "interrupted"],
    ]
    out = StringIO()
    call_command("delivery_log", "--org", org_a.slug, stdout=out)
    assert out.getvalue().count("\tsent\t") == 2


class ReplacingSMTP(ScriptedSMTP):
    """While accepting the first mail, has a newer send of `replaced` made — as the stale
    sweeper or an admin's re-send does from another process while a batch is under way."""

    def __init__(self, database, replaced):
        super().__init__()
        self.database, self.replaced = database, replaced

    async def handle_DATA(self, server, session, envelope):
        if not self.received:
            self.database.inc_thread_sharing()  # the test's transaction, from this thread
            try:
                with self.database.cursor() as cursor:
                    cursor.execute(
                        "UPDATE invitations_invitation SET sent_count = sent_count + 1 "
                        "WHERE id = %s",
                        [self.replaced.pk],
                    )
            finally:
                self.database.dec_thread_sharing()
        return await super().handle_DATA(server, session, envelope)


def test_issue16_a_send_replaced_while_its_batch_runs_is_not_handed_over(
    org_a, admin_a, settings, django_capture_on_commit_callbacks
):
    """Issue 16, AUT-5: a batch checks each send again as it records the attempt, in the same
    statement: a send that a newer one replaced after the batch began is skipped, so the
    recipient does not get both."""
    from django.db import connections

    licences(org_a)
    with scope(org=org_a):
        first = invite(org_a, admin_a, "taro@example.jp", lambda execute: _no_commit())
        second = invite(org_a, admin_a, "hana@example.jp", lambda execute: _no_commit())
    handler = ReplacingSMTP(connections["default"], second)  # this thread's, not a proxy
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        result = deliver_invitations_task.apply(args=(org_a.pk, batch_of([first, second])))
    finally:
        controller.stop()
    assert result.get() == {"sent": 1, "failed": 0, "retrying": 0, "skipped": 1}
    assert [e.rcpt_tos[0] for e in handler.received] == ["taro@example.jp"]
    assert outcomes(first) == [(1, "sent")] and outcomes(second) == []


class RecordWatchingSMTP(ScriptedSMTP):
    """Notes, when it accepts each mail, which invitations' sends are committed as gone out,
    read through a connection of its own (what a worker starting after a SIGKILL would see)."""

    def __init__(self, database_url: str):
        super().__init__()
        self.database_url = database_url
        self.committed_at_accept = []

    async def handle_DATA(self, server, session, envelope):
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as other:
            rows = other.execute(
                f"SELECT invitation_id FROM {DeliveryAttempt._meta.db_table} WHERE outcome = 'sent'"
            ).fetchall()
        self.committed_at_accept.append({row[0] for row in rows})
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.django_db(transaction=True)
def test_x4_a_batch_mail_is_accepted_only_once_the_one_before_is_recorded(
    org_a, admin_a, django_capture_on_commit_callbacks, settings
):
    """X-4, AUT-12, issue 16: in a batch over one SMTP connection, the server accepts each mail
    only after the mail before it is recorded as sent and committed — so a worker SIGKILLed
    mid-batch re-sends at most the mail in flight — and the mail arrives as written (a line
    starting with a dot, Japanese text)."""
    from django.db import connection

    db = connection.settings_dict
    url = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    handler = RecordWatchingSMTP(url)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        licences(org_a)
        due = [
            invite(org_a, admin_a, f"yuki{n}@example.jp", django_capture_on_commit_callbacks)
            for n in range(4)
        ]
        with scopes_disabled():
            DeliveryAttempt.objects.filter(invitation__in=due).delete()
        handler.received.clear()
        handler.committed_at_accept.clear()
        batch = batch_of(due)
        batch[1][2]["body"] = ".a line with a dot\r\n..two dots\r\nようこそ\r\n."
        result = deliver_invitations_task.apply(args=(org_a.pk, batch)).get()
    finally:
        controller.stop()
    assert result == {"sent": 4, "failed": 0, "retrying": 0, "skipped": 0}
    ids = [i.pk for i in due]
    for n, committed in enumerate(handler.committed_at_accept):
        assert set(ids[:n]) <= committed, f"mail {n} accepted before mail {n - 1} was recorded"
        assert ids[n] not in committed
    assert len(handler.committed_at_accept) == 4
    text = handler.received[1].content.decode()
    assert ".a line with a dot\r\n..two dots\r\n" in text
    assert "=E3=82=88=E3=81=86=E3=81=93=E3=81=9D" in text or "ようこそ" in text
    assert [outcomes(i) for i in due] == [[(1, "sent")]] * 4


def test_x4_a_delivery_task_of_another_org_sends_nothing(
    smtp, org_a, org_b, admin_a, django_capture_on_commit_callbacks
):
    """Tenancy: a delivery task sends an invitation only for the org it runs for — the
    attempt's own statement requires the invitation to be that org's."""
    server = smtp()
    with scope(org=org_a):
        invitation = invite(org_a, admin_a, "taro@example.jp", lambda execute: _no_commit())
    result = deliver_invitations_task.apply(args=(org_b.pk, batch_of([invitation]))).get()
    assert result["sent"] == 0 and result["skipped"] == 1
    assert server.received == [] and outcomes(invitation) == []
    assert (
        deliver_invitations_task.apply(args=(org_a.pk, batch_of([invitation]))).get()["sent"] == 1
    )
