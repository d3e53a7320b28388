"""MAIL-5 with real processes: the beat's periodic sync reaches every mailbox through a real
Celery worker, against the tests' Dovecot; a message delivered later arrives with the next
round, stored once."""

import pytest
from django_scopes import scopes_disabled

from mailoptions.models import Mailbox, MessageCopy
from tests.mailoptions.conftest import connect, mail
from tests.mailoptions.dovecot import dovecot as dovecot  # the session's IMAP server
from tests.workers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def stored(mailbox) -> list[int]:
    with scopes_disabled():
        return sorted(MessageCopy.objects.filter(mailbox=mailbox).values_list("uid", flat=True))


def test_mail5_periodic_sync_in_a_real_worker(org_a, admin_a, dovecot, start_celery):
    dovecot.add_user("worker-sync", "worker-password")
    dovecot.deliver("worker-sync", [mail(1), mail(2)])
    mailbox = connect(admin_a, dovecot, "worker-sync", "worker-password")
    worker = start_celery("worker")
    beat = start_celery("beat", MAIL_SYNC_INTERVAL_SECONDS="2")

    assert wait_for(lambda: stored(mailbox) == [1, 2]), worker.log() + beat.log()
    dovecot.deliver("worker-sync", [mail(3)])
    assert wait_for(lambda: stored(mailbox) == [1, 2, 3]), worker.log()
    with scopes_disabled():
        assert Mailbox.objects.get(pk=mailbox.pk).last_sync_result == "ok"
