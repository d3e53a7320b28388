import itertools
from email.message import EmailMessage

import pytest
from django_scopes import scope

from mailoptions.services import mailbox_connect
from tests.mailoptions.dovecot import dovecot as dovecot  # the session's IMAP server

_logins = itertools.count(1)


def mail(n: int, *, sender="someone@example.net", to=("me@alpha.example",), cc=(), **extra):
    """A small message numbered n; Message-ID <n@…> unless given."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = extra.get("subject", f"Message {n}")
    message["Date"] = "Sun, 06 Dec 2026 10:00:00 +0000"
    message["Message-ID"] = extra.get("message_id", f"<{n}.{extra.get('tag', 't')}@example.net>")
    message.set_content(extra.get("body", f"Body of message {n}."))
    return message


@pytest.fixture
def imap_account(dovecot):
    """A fresh IMAP user on the test server: (login, password)."""
    login, password = f"user{next(_logins)}", "imap-password-1"
    dovecot.add_user(login, password)
    return login, password


def connect(membership, dovecot, login, password, *, sharing="record_level", **overrides):
    """The user connects their mailbox through the service, as the settings page does."""
    values = dict(host=dovecot.host, port=dovecot.port, security="none", login=login)
    values.update(overrides)
    with scope(org=membership.org):
        return mailbox_connect(
            membership=membership, actor=membership, secret=password, sharing=sharing, **values
        )
