"""X-1 (issue 11): every page of the demo organisation, read in Japanese, shows no text that
the English catalogues hold without a Japanese translation.

The walk is discovered, not listed: every URL pattern under /o/<org_slug>/ (as the tenant walk
finds them) plus allauth's account pages. What a person reads is taken from each page: its
text nodes (not <script>, <style> or <code>) and the value, placeholder, title, aria-label and alt
attributes. Each piece is compared with the msgids of our catalogue and of allauth's: one that
appears as it is, though its Japanese differs (or is missing), was left in English.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import allauth
import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from tests.demo import demo_org_create
from tests.tenant_walk import OBJECT_MAKERS, fill, tenant_routes

OUR_CATALOGUE = Path(settings.BASE_DIR) / "locale/ja/LC_MESSAGES/django.po"
ALLAUTH_CATALOGUE = Path(allauth.__file__).parent / "locale/ja/LC_MESSAGES/django.po"
ACCOUNT_PAGES = [
    "account_email",
    "account_reauthenticate",
    "account_change_password",
    "mfa_index",
    "mfa_activate_totp",
    "usersessions_list",
]
# Read the same in both languages: names of things and the languages' own names.
ALLOWED = {"crm-portal", "CSV", "XLSX", "Excel", "API", "URL", "ID", "English"}
# Placeholders are filled in on the page, so such an msgid never shows as it is.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
# Not read as words: scripts, styles, and <code> (a field's key, a token: identifiers).
NOT_PROSE = ("script", "style", "template", "code")
ATTRIBUTES = ("value", "placeholder", "title", "aria-label", "alt")  # value: buttons only


class VisibleText(HTMLParser):
    """The pieces of text a person reads (or hears) on a page."""

    def __init__(self):
        super().__init__()
        self.pieces: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in NOT_PROSE:
            self._hidden_depth += 1
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden":
            return
        shown_value = tag == "input" and attributes.get("type") in ("submit", "button", "reset")
        if not shown_value:  # a checkbox's, <option>'s or text box's value is sent, not shown
            attributes.pop("value", None)
        self.pieces.extend(attributes[name] for name in ATTRIBUTES if attributes.get(name))

    def handle_endtag(self, tag):
        if tag in NOT_PROSE and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data):
        if not self._hidden_depth:
            self.pieces.append(data)


def visible_text(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    return {" ".join(piece.split()) for piece in parser.pieces} - {""}


def english_msgids(path: Path) -> set[str]:
    """The catalogue's English texts, bar those whose Japanese is the same text (a brand
    name): on a Japanese page any of them shown as it is was left in English — untranslated,
    fuzzy, or never passed through gettext on its way to the page."""
    found = set()
    for entry in polib.pofile(str(path)):
        if entry.obsolete or PLACEHOLDER.search(entry.msgid):
            continue
        translations = [entry.msgstr] if not entry.msgid_plural else entry.msgstr_plural.values()
        if entry.fuzzy or entry.msgid not in translations:
            found.add(" ".join(entry.msgid.split()))
    return found


def tenant_page_urls(org) -> list[str]:
    """One URL per pattern under /o/<org_slug>/, with an object of the org in each slot."""
    urls = []
    with scopes_disabled():
        for route, keywords in tenant_routes():
            values = {"org_slug": org.slug}
            values.update({k: OBJECT_MAKERS[k](org) for k in keywords})
            urls.append(fill(route, values))
    return urls


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Attachments made for the pages (POR-7) go to a temporary directory."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def demo_in_japanese(db):
    demo = demo_org_create()
    user = demo.admin.user
    user.language = "ja"
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return demo, client


def test_x1_every_page_of_demo_org_in_japanese_has_no_untranslated_text(demo_in_japanese):
    """X-1, issue 11: dashboard, lists, detail pages, forms, settings, audit log, imports, API
    tokens and the account pages of the demo org show no English the catalogues leave
    untranslated."""
    demo, client = demo_in_japanese
    assert ALLAUTH_CATALOGUE.exists(), "allauth's Japanese catalogue is missing"
    english = (english_msgids(OUR_CATALOGUE) | english_msgids(ALLAUTH_CATALOGUE)) - (ALLOWED)
    urls = tenant_page_urls(demo.org) + [reverse(name) for name in ACCOUNT_PAGES]
    found: dict[str, set[str]] = {}
    pages_read = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, url
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        pages_read += "<html" in html  # htmx partials are read too, but aren't pages
        assert "<html" not in html or '<html lang="ja">' in html, url
        left_in_english = visible_text(html) & english
        if left_in_english:
            found[url] = left_in_english
    assert pages_read >= 30, f"only {pages_read} pages were read"
    report = "\n".join(f"{url}: {sorted(texts)}" for url, texts in sorted(found.items()))
    assert not found, f"English left on Japanese pages:\n{report}"


def test_x1_the_japanese_page_check_can_fail():
    """The check above can fail: an English msgid without translation is found on a page."""
    english = english_msgids(ALLAUTH_CATALOGUE)
    page = (
        '<main><h1>Sessions</h1><input type="submit" value="保存">'
        "<script>const s = 'Sessions';</script></main>"
    )
    assert visible_text(page) & english == {"Sessions"}
