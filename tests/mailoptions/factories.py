"""A mailbox row for tests that don't sync (MAIL-1 … MAIL-4): no IMAP server behind it."""

from django_scopes import scopes_disabled

from mailoptions.models import Mailbox


def mailbox_of(membership, sharing=Mailbox.Sharing.RECORD_LEVEL, **values) -> Mailbox:
    values = {
        "host": "imap.example.net",
        "login": membership.email,
        "secret_encrypted": "x",
        "sharing": sharing,
        **values,
    }
    with scopes_disabled():
        return Mailbox.objects.create(org=membership.org, owner=membership, **values)
