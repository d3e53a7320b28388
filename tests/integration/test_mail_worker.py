"""X-4 with a real worker: a temporary SMTP error is retried by the worker with backoff,
every attempt is recorded, and the message is delivered exactly once."""

import pytest
from aiosmtpd.controller import Controller
from django_scopes import scope, scopes_disabled

from invitations.crm_users import crm_user_add_and_invite
from invitations.models import DeliveryAttempt, Invitation
from tests.invitations.test_delivery import ScriptedSMTP, free_port
from tests.users.factories import builtin_profile, role_named
from tests.workers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_x4_worker_retries_temporary_smtp_errors_then_delivers_once(org_a, admin_a, start_celery):
    handler = ScriptedSMTP(defer=2)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        worker = start_celery(
            "worker",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(controller.port),
            MAIL_RETRY_BASE_SECONDS="1",
        )
        with scope(org=org_a):
            membership = crm_user_add_and_invite(
                org=org_a,
                actor=admin_a,
                first_name="Kenji",
                last_name="Sato",
                email="kenji@example.jp",
                role=role_named(org_a, "Manager"),
                profile=builtin_profile(org_a, "standard"),
            )
        with scopes_disabled():
            invitation = Invitation.objects.get(crm_user=membership)

        def outcomes():
            with scopes_disabled():
                return list(
                    DeliveryAttempt.objects.filter(invitation=invitation)
                    .order_by("pk")
                    .values_list("outcome", flat=True)
                )

        assert wait_for(lambda: "sent" in outcomes()), worker.log()
        assert outcomes() == ["retrying", "retrying", "sent"]
        assert [e.rcpt_tos for e in handler.received] == [["kenji@example.jp"]]
        assert "Retry in" in worker.log()
    finally:
        controller.stop()
