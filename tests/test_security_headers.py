"""X-7: every page sends a Content-Security-Policy with a fresh nonce that the page's own
script tags carry; no template has an inline handler or an inline script without the nonce;
an org's pages are never cached."""

import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


def test_x7_policy_allows_only_own_and_nonced_script(client, db):
    """X-7: default-src 'self', scripts and styles only from here or with the nonce, no
    plugins, no base tag elsewhere, no framing, forms post only here."""
    directives = policy(client.get(reverse("account_login")))
    assert directives["default-src"] == "'self'"
    assert re.fullmatch(r"'self' 'nonce-[\w+/=]+'", directives["script-src"])
    assert re.fullmatch(r"'self' 'nonce-[\w+/=]+'", directives["style-src"])
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe-inline" not in str(directives) and "unsafe-eval" not in str(directives)


def test_x7_page_scripts_carry_the_nonce_of_their_response(client_admin_a, org_a):
    """X-7: the nonce is new for every response, and every script tag on the page has it."""
    url = reverse("dashboard", kwargs={"org_slug": org_a.slug})
    first, second = client_admin_a.get(url), client_admin_a.get(url)
    nonces = [
        re.search(r"'nonce-([\w+/=]+)'", r["Content-Security-Policy"])[1] for r in (first, second)
    ]
    assert nonces[0] != nonces[1]
    scripts = re.findall(r"<script\b[^>]*>", first.content.decode())
    assert len(scripts) >= 2  # htmx and app.js
    assert all(f'nonce="{nonces[0]}"' in tag for tag in scripts), scripts


def test_x7_no_template_has_inline_handlers_or_unnonced_scripts():
    """X-7: a template with onclick=, an inline <script> or a style attribute would break
    under the policy; none has one (emails are not web pages and are left out)."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if "email" in path.parts:
            continue
        text = path.read_text()
        if re.search(r"\son[a-z]+\s*=", text) or re.search(r"\sstyle\s*=", text):
            offenders.append(str(path))
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "csp_nonce" not in tag:
                offenders.append(f"{path}: {tag}")
    assert offenders == []


def test_x7_org_pages_are_private_and_never_stored(client_admin_a, org_a):
    """X-7: Cache-Control: private, no-store on the pages of an org."""
    for name in ("dashboard", "contact_list", "user_list"):
        response = client_admin_a.get(reverse(name, kwargs={"org_slug": org_a.slug}))
        assert response.status_code == 200
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives, name
