"""A record's history as the member typed it (issue 11 Deliver 2, REC-3): languages and
subscriptions by their labels, the owner by name, never a raw code; "processing…" only for
a change still pending after RECORD_HISTORY_SLOW_SECONDS, and never a word of workers."""

import datetime

from django.utils import timezone
from django_scopes import scopes_disabled

from records.models import Contact, RecordEvent
from records.services import record_create
from users.models import User


def detail(client, contact) -> str:
    """The history's timeline of the contact's page."""
    body = client.get(f"/o/{contact.org.slug}/contacts/{contact.pk}/").content.decode()
    return body.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]


def created_contact(org, actor, **data) -> Contact:
    with scopes_disabled():
        return record_create(
            org=org, actor=actor, module="contacts", data={"last_name": "Mori", **data}
        )


def age_events(contact, seconds: int, *, processed: bool = False):
    with scopes_disabled():
        RecordEvent.objects.filter(record_id=contact.pk).update(
            created_at=timezone.now() - datetime.timedelta(seconds=seconds),
            processed_at=timezone.now() if processed else None,
        )


def test_rec3_history_shows_choice_labels_not_codes(client_admin_a, org_a, admin_a):
    """Language "ja" reads "Japanese", subscription "trial" reads "Trial"."""
    contact = created_contact(org_a, admin_a, language="ja", subscription="trial")
    history = detail(client_admin_a, contact)
    assert "Language: — → Japanese" in history
    assert "Subscription: — → Trial" in history
    assert "→ ja<" not in history and "→ trial<" not in history
    assert "Owner: — → Alice Admin" in history


def test_rec3_history_labels_follow_the_viewers_language(client_admin_a, org_a, admin_a):
    """X-1: the same stored code, in the viewer's language."""
    contact = created_contact(org_a, admin_a, language="en")
    User.objects.filter(pk=admin_a.user_id).update(language="ja")
    history = detail(client_admin_a, contact)
    assert "→ 英語<" in history
    assert "English" not in history


def test_rec3_x1_history_names_the_country_in_the_viewers_language(client_admin_a, org_a, admin_a):
    contact = created_contact(org_a, admin_a, country="JP")
    assert "Country: — → Japan<" in detail(client_admin_a, contact)
    User.objects.filter(pk=admin_a.user_id).update(language="ja")
    history = detail(client_admin_a, contact)
    assert "→ 日本<" in history and "→ JP<" not in history


def test_rec3_no_processing_word_for_a_fresh_pending_change(client_admin_a, org_a, admin_a):
    """A change a moment old says nothing of its processing."""
    contact = created_contact(org_a, admin_a)
    age_events(contact, 5)
    history = detail(client_admin_a, contact)
    assert "processing…" not in history
    for word in ("worker", "outbox", "relay", "processed"):
        assert word not in history.lower()


def test_rec3_processing_shows_when_slow(client_admin_a, org_a, admin_a, settings):
    """Pending longer than RECORD_HISTORY_SLOW_SECONDS: "processing…"."""
    settings.RECORD_HISTORY_SLOW_SECONDS = 30
    contact = created_contact(org_a, admin_a)
    age_events(contact, 31)
    assert "processing…" in detail(client_admin_a, contact)


def test_rec3_a_processed_change_says_nothing_however_old(client_admin_a, org_a, admin_a):
    contact = created_contact(org_a, admin_a)
    age_events(contact, 3600, processed=True)
    assert "processing…" not in detail(client_admin_a, contact)


def test_rec3_x1_a_change_from_the_portal_says_so_in_the_readers_language(
    client_admin_a, org_a, admin_a
):
    """POR-7: a portal user's create is a "portal" event; the CRM history names its source."""
    with scopes_disabled():
        contact = record_create(
            org=org_a, actor=None, module="contacts", data={"last_name": "Ono"}, source="portal"
        )
    body = client_admin_a.get(f"/o/{org_a.slug}/contacts/{contact.pk}/").content.decode()
    assert "· Portal" in body
    User.objects.filter(pk=admin_a.user_id).update(language="ja")
    body = client_admin_a.get(f"/o/{org_a.slug}/contacts/{contact.pk}/").content.decode()
    assert "· ポータル" in body and "· portal" not in body
