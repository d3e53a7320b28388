"""English and Japanese UI (X-1): the catalogue is complete, compiled, and chosen per user."""

import gettext
from pathlib import Path

import polib
from django.conf import settings

from users.models import User

LOCALE = Path(settings.BASE_DIR) / "locale" / "ja" / "LC_MESSAGES"


def test_x1_japanese_catalogue_is_complete():
    po = polib.pofile(str(LOCALE / "django.po"))
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []


def compiled(mo, entry) -> str:
    if entry.msgid_plural:
        return mo.ngettext(entry.msgid, entry.msgid_plural, 1)
    if entry.msgctxt:
        return mo.pgettext(entry.msgctxt, entry.msgid)
    return mo.gettext(entry.msgid)


def expected(entry) -> str:
    return entry.msgstr_plural[0] if entry.msgid_plural else entry.msgstr


def test_x1_committed_mo_matches_the_po():
    """A fresh machine may lack GNU gettext, so the compiled .mo is committed: it must be
    the compilation of the current .po."""
    po = polib.pofile(str(LOCALE / "django.po"))
    with open(LOCALE / "django.mo", "rb") as fh:
        mo = gettext.GNUTranslations(fh)
    stale = [e.msgid for e in po.translated_entries() if compiled(mo, e) != expected(e)]
    assert stale == [], "run `make messages` (or msgfmt) and commit the .mo"


def test_x1_user_language_is_kept_on_the_account(client_admin_a, admin_a, org_a):
    response = client_admin_a.post("/language/", {"language": "ja", "next": f"/o/{org_a.slug}/"})
    assert response["Location"] == f"/o/{org_a.slug}/"
    assert User.objects.get(pk=admin_a.user.pk).language == "ja"
    body = client_admin_a.get(f"/o/{org_a.slug}/contacts/").content.decode()
    assert 'lang="ja"' in body
    assert "連絡先はまだありません。" in body


def test_x1_language_switch_refuses_foreign_redirects(client, db):
    response = client.post("/language/", {"language": "ja", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_x1_unknown_language_changes_nothing(client_admin_a, admin_a):
    client_admin_a.post("/language/", {"language": "xx"})
    assert User.objects.get(pk=admin_a.user.pk).language == ""
