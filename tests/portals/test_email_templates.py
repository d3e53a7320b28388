"""Portal email templates (POR-6; issue 12 Deliver 6 and its "Bad input"): template text is
data, never code. Every entry of the injection corpus goes through save, preview, the test
email and a real send through the invitation core to an SMTP server (aiosmtpd), and comes out
inert. Defaults ship for five languages; the language fallback; the warning for an offered
language without a template of its own; reset; who may open the pages (X-6, X-7)."""

import email
import email.policy
import json
import re
import socket
from html import unescape

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from invitations.crm_users import CrmUserInvitations, crm_user_add_and_invite
from portals.default_emails import DEFAULT_EMAILS
from portals.emails import (
    content_for,
    email_template_save,
    email_template_warnings,
    format_placeholders,
    languages_without_template,
    merge_fields,
    render_for_invitation,
    render_preview,
    safe_context,
)
from portals.members import portal_user_invite
from portals.models import EmailTemplate, Portal
from records.models import Contact, CustomField
from tests.conftest import client_for
from tests.portals.factories import PortalFactory, UserGroupFactory
from tests.records.factories import ContactFactory
from tests.users.factories import CrmUserFactory, builtin_profile, role_named
from users.audit import audit_sentence
from users.models import AuditLogEntry, Profile

EVIL_NAME = "<img src=x onerror=alert(1)>"
EVIL_SUBJECT = "Welcome\r\nBcc: x@evil.test"

# (name, body the admin types, what must not come out, what must come out as text)
CORPUS = [
    ("django-variable", "<p>{{ settings.SECRET_KEY }}</p>", None, "{{ settings.SECRET_KEY }}"),
    ("django-tag", "<p>{% debug %}</p>", "sys.path", "{% debug %}"),
    (
        "attribute-walk",
        "<p>{contact.__class__.__init__.__globals__}</p>",
        "function",
        "{contact.__class__.__init__.__globals__}",
    ),
    ("index-access", "<p>{0.__class__}</p>", "<class", "{0.__class__}"),
    ("format-spec", "<p>{link!r:>99999999}</p>", None, "{link!r:>99999999}"),
    ("script", "<p>Hi</p><script>alert(1)</script>", "<script", "Hi"),
    ("event-handler", '<p>Hi<img src=x onerror="alert(1)"></p>', "<img", "Hi"),
    ("javascript-link", '<p><a href="javascript:alert(1)">Open</a></p>', "javascript:", "Open"),
    ("data-link", '<p><a href="data:text/html;base64,PHNjcmlwdD4=">Open</a></p>', "data:", "Open"),
]
CORPUS_IDS = [name for name, *_rest in CORPUS]


def form_data(**overrides) -> dict:
    return {
        "from_name": "Alpha Support",
        "from_email": "",
        "reply_to": "help@alpha.example",
        "subject": "Welcome {contact_first_name}",
        "body_html": "<p>Hello {contact_first_name}</p>",
        "accept_as": "button",
        "font": "sans-serif",
        "size": "16",
        "colour": "#1f2933",
        "background": "#ffffff",
        "align": "left",
        **overrides,
    }


def url(name, portal, kind="accept_invitation", language="en", group=None):
    kwargs = {"org_slug": portal.org.slug, "portal_pk": portal.pk}
    if name != "email_template_list":
        kwargs.update(kind=kind, language=language)
    return reverse(name, kwargs=kwargs) + (f"?group={group.pk}" if group else "")


@pytest.fixture
def portal(org_a):
    with scopes_disabled():
        return PortalFactory(org=org_a, name="Alpha Care", languages=["en", "ja"])


@pytest.fixture
def evil_contact(org_a, admin_a):
    with scopes_disabled():
        return ContactFactory(org=org_a, first_name=EVIL_NAME, last_name="Mallory", owner=admin_a)


def saved(portal, kind="accept_invitation", language="en"):
    with scopes_disabled():
        return EmailTemplate.objects.filter(portal=portal, kind=kind, language=language).first()


# --- the SMTP sink ----------------------------------------------------------------------------


class Sink:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self):
        return [
            (envelope, email.message_from_bytes(envelope.content, policy=email.policy.default))
            for envelope in self.received
        ]


@pytest.fixture
def smtp_sink(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield sink
    controller.stop()


def assert_inert_message(envelope, message, recipient, must_not=None, must_show=None):
    """What a recipient's mail program sees: one Subject line, no Bcc, only the one
    recipient, a plain-text part, and nothing active in the HTML."""
    assert envelope.rcpt_tos == [recipient]
    head = envelope.content.split(b"\r\n\r\n", 1)[0]
    header_names = [
        line.split(b":", 1)[0].lower()
        for line in head.split(b"\r\n")
        if line and not line[:1].isspace()
    ]
    assert header_names.count(b"subject") == 1
    assert b"bcc" not in header_names
    assert message.get_all("Bcc") is None
    plain = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert plain is not None and plain.get_content().strip()
    html = html_part.get_content()
    for needle in ("<script", "<img", "javascript:", "data:text"):  # no live markup
        assert needle not in html
    assert django_settings.SECRET_KEY not in html + plain.get_content()
    if must_not:
        assert must_not not in html
    if must_show:
        assert must_show in plain.get_content()
    return html, plain.get_content()


# --- the formatter ----------------------------------------------------------------------------


def test_por6_formatter_substitutes_bare_names_only():
    context = {"contact_first_name": "Kenji", "link": "https://x.test/invite/abc/"}
    text = (
        "Hi {contact_first_name} {unknown} {contact_first_name.upper} {link[0]} "
        "{link!r} {link:>9} {{ link }} {0}"
    )
    assert format_placeholders(text, context) == (
        "Hi Kenji {unknown} {contact_first_name.upper} {link[0]} {link!r} {link:>9} {{ link }} {0}"
    )


def test_por6_context_is_allow_listed_and_json_safe(org_a):
    raw = {"contact_first_name": "Kenji", "secret": "x", "portal_name": object(), "n": 3}
    clean = safe_context(raw, {"contact_first_name", "portal_name", "n"})
    assert clean == {"contact_first_name": "Kenji", "n": "3"}
    assert json.loads(json.dumps(clean)) == clean


def test_por6_merge_fields_include_custom_fields_and_portal_values(org_a):
    with scopes_disabled():
        CustomField.objects.create(
            org=org_a, module="contacts", key="member_no", label="Member number", field_type="text"
        )
        names = dict(merge_fields(org_a))
    assert names["contact_first_name"] == "Contact: First name"
    assert names["contact_member_no"] == "Contact: Member number"
    for name in ("portal_name", "portal_url", "group_name", "org_name", "link", "link_expires_at"):
        assert name in names


# --- the corpus through save, preview, test send and a real send ------------------------------


@pytest.mark.parametrize(("name", "body", "must_not", "must_show"), CORPUS, ids=CORPUS_IDS)
def test_por6_bad_template_is_inert_when_saved(
    name, body, must_not, must_show, client_admin_a, portal
):
    response = client_admin_a.post(url("email_template_edit", portal), form_data(body_html=body))
    assert response.status_code == 302
    stored = saved(portal).body_html
    for needle in ("<script", "onerror", "javascript:", "data:"):
        assert needle not in stored
    assert must_show in unescape(stored)  # kept as text


@pytest.mark.parametrize(("name", "body", "must_not", "must_show"), CORPUS, ids=CORPUS_IDS)
def test_por6_bad_template_is_inert_in_the_preview(
    name, body, must_not, must_show, client_admin_a, portal, evil_contact
):
    response = client_admin_a.post(
        url("email_template_preview", portal),
        form_data(body_html=body, preview_contact=str(evil_contact.pk)),
    )
    assert response.status_code == 200
    subject, text, html = response.context["preview"]
    assert must_show in text
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert django_settings.SECRET_KEY not in html + text
    if must_not:
        assert must_not not in html
    # The preview is shown in a sandboxed frame: the page itself carries no live markup,
    # the email's own markup only escaped inside the frame's srcdoc.
    assert b"<script>alert" not in response.content
    assert b"sandbox" in response.content
    assert b'class="email-outer"' not in response.content
    assert b"class=&quot;email-outer&quot;" in response.content


@pytest.mark.parametrize(("name", "body", "must_not", "must_show"), CORPUS, ids=CORPUS_IDS)
def test_por6_bad_template_is_inert_in_the_test_email(
    name,
    body,
    must_not,
    must_show,
    client_admin_a,
    admin_a,
    portal,
    smtp_sink,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_admin_a.post(
            url("email_template_test", portal), form_data(body_html=body, subject=EVIL_SUBJECT)
        )
    assert response.status_code == 302
    ((envelope, message),) = smtp_sink.messages()
    assert_inert_message(envelope, message, admin_a.email, must_not, must_show)
    assert message["Subject"] == "Welcome Bcc: x@evil.test"


class PortalTemplatedInvitations(CrmUserInvitations):
    """A kind that renders its mail through the portal's templates (render_email, the
    invitation core's hook): the portal of the org, the contact with the invited address."""

    def render_email(self, invitation, context):
        portal = Portal.objects.filter(org=invitation.org).first()
        contact = Contact.objects.filter(org=invitation.org, email=invitation.email).first()
        return render_for_invitation(
            portal, "accept_invitation", invitation.language, None, {**context, "contact": contact}
        )


@pytest.fixture
def templated_kind(settings):
    settings.INVITATION_KINDS = {
        "crm_user": "tests.portals.test_email_templates.PortalTemplatedInvitations"
    }


def send_invitation(org, actor, address, capture):
    with scope(org=org), capture(execute=True):
        crm_user_add_and_invite(
            org=org,
            actor=actor,
            first_name="Kenji",
            last_name="Sato",
            email=address,
            role=role_named(org, "Manager"),
            profile=builtin_profile(org, "standard"),
        )


@pytest.mark.parametrize(("name", "body", "must_not", "must_show"), CORPUS, ids=CORPUS_IDS)
def test_por6_bad_template_is_inert_in_a_real_send(
    name,
    body,
    must_not,
    must_show,
    client_admin_a,
    org_a,
    admin_a,
    portal,
    smtp_sink,
    templated_kind,
    django_capture_on_commit_callbacks,
):
    with scopes_disabled():
        ContactFactory(org=org_a, first_name=EVIL_NAME, email="kenji@example.jp")
    client_admin_a.post(
        url("email_template_edit", portal),
        form_data(body_html=body + "<p>{contact_first_name}</p>", subject=EVIL_SUBJECT),
    )
    send_invitation(org_a, admin_a, "kenji@example.jp", django_capture_on_commit_callbacks)
    ((envelope, message),) = smtp_sink.messages()
    html, text = assert_inert_message(envelope, message, "kenji@example.jp", must_not, must_show)
    assert message["Subject"] == "Welcome Bcc: x@evil.test"
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the contact's name, escaped
    assert "/invite/" in html and "/invite/" in text  # the link, as a button
    assert message["Reply-To"] == "help@alpha.example"
    assert message["From"].addresses[0].display_name == "Alpha Support"


def test_por6_hostile_contact_name_is_escaped_everywhere(
    client_admin_a, admin_a, portal, evil_contact, smtp_sink, django_capture_on_commit_callbacks
):
    """The default text with a contact named like markup: the preview shows the name as text."""
    response = client_admin_a.get(
        url("email_template_preview", portal), {"preview_contact": evil_contact.pk}
    )
    _subject, text, html = response.context["preview"]
    assert EVIL_NAME in text
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_por6_huge_body_is_refused_with_a_clear_message(
    client_admin_a, portal, smtp_sink, django_capture_on_commit_callbacks
):
    """A 5 MB body: refused on save, in the preview and the test email with the same clear
    message; nothing is saved and nothing is sent."""
    huge = "<p>" + "x" * (5 * 1024 * 1024) + "</p>"
    message = "The body is too long: at most 200 KB."
    response = client_admin_a.post(url("email_template_edit", portal), form_data(body_html=huge))
    assert response.status_code == 413 and message in response.content.decode()
    assert saved(portal) is None
    preview = client_admin_a.post(url("email_template_preview", portal), form_data(body_html=huge))
    assert preview.status_code == 200 and message in preview.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client_admin_a.post(url("email_template_test", portal), form_data(body_html=huge))
    assert sent.status_code == 413 and message in sent.content.decode()
    assert smtp_sink.received == []


def test_por6_body_over_the_cap_keeps_what_was_typed(client_admin_a, portal):
    """Over 200 KB but readable: the form says so and keeps the typed subject."""
    long_body = "<p>" + "y" * (210 * 1024) + "</p>"
    response = client_admin_a.post(
        url("email_template_edit", portal), form_data(body_html=long_body, subject="Kept subject")
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "The body is too long: at most 200 KB." in page
    assert 'value="Kept subject"' in page
    assert saved(portal) is None


def test_por6_subject_loses_line_breaks_on_save(client_admin_a, portal):
    client_admin_a.post(url("email_template_edit", portal), form_data(subject=EVIL_SUBJECT))
    assert saved(portal).subject == "Welcome Bcc: x@evil.test"


# --- defaults, fallback, warning ------------------------------------------------------------


def test_por6_defaults_ship_for_five_languages_and_both_kinds():
    for kind in ("accept_invitation", "confirm_email"):
        assert set(DEFAULT_EMAILS[kind]) >= {"en", "ja", "fr", "de", "es"}
        for text in DEFAULT_EMAILS[kind].values():
            assert text["subject"] and text["body_html"] and text["action"]


@pytest.mark.parametrize("language", ["en", "ja", "fr", "de", "es"])
def test_por6_each_default_renders_with_a_link_and_a_text_part(org_a, language):
    with scopes_disabled():
        portal = PortalFactory(org=org_a, languages=[language], default_language=language)
        content = content_for(portal, "accept_invitation", language)
        subject, text, html = render_preview(portal, content, None)
    assert content.language == language and not content.customised
    assert portal.name in subject
    assert "/invite/sample-link/" in text and "/invite/sample-link/" in html
    assert DEFAULT_EMAILS["accept_invitation"][language]["action"] in html
    assert "{" not in text  # every placeholder of the default text is a merge field


def test_por6_language_fallback(org_a, portal, client_admin_a):
    """The contact's language if the portal offers it (its own template, else the built-in
    text in that language); else the portal's default language; else English."""
    client_admin_a.post(url("email_template_edit", portal), form_data(subject="Custom EN"))
    with scopes_disabled():
        assert content_for(portal, "accept_invitation", "en").subject == "Custom EN"
        japanese = content_for(portal, "accept_invitation", "ja")
        assert (japanese.language, japanese.customised) == ("ja", False)
        # French is not offered: the portal's default language, customised.
        assert content_for(portal, "accept_invitation", "fr").subject == "Custom EN"
        odd = PortalFactory(org=org_a, languages=["pt"], default_language="pt")
        fallback = content_for(odd, "confirm_email", "pt")
        assert fallback.language == "en"
        assert fallback.subject == DEFAULT_EMAILS["confirm_email"]["en"]["subject"]


def test_por6_group_override_wins_for_its_group(org_a, portal, client_admin_a):
    with scopes_disabled():
        group, other = UserGroupFactory(portal=portal), UserGroupFactory(portal=portal)
    client_admin_a.post(url("email_template_edit", portal), form_data(subject="Portal"))
    response = client_admin_a.post(
        url("email_template_edit", portal, group=group), form_data(subject="Group")
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert content_for(portal, "accept_invitation", "en", group).subject == "Group"
        assert content_for(portal, "accept_invitation", "en", other).subject == "Portal"
        assert content_for(portal, "accept_invitation", "en").subject == "Portal"


def test_por6_offered_language_without_template_is_warned(client_admin_a, portal):
    for kind in ("accept_invitation", "confirm_email"):
        client_admin_a.post(url("email_template_edit", portal, kind=kind), form_data())
    with scopes_disabled():
        assert languages_without_template(portal) == [
            ("accept_invitation", "ja"),
            ("confirm_email", "ja"),
        ]
    response = client_admin_a.get(url("email_template_list", portal))
    page = response.content.decode()
    assert 'id="email-template-warnings"' in page
    assert "日本語 has no “Accept invitation” template of its own" in page
    assert "English has no" not in page
    assert page.count("Customised") >= 2
    assert len(response.context["email_template_warnings"]) == 2
    with scopes_disabled():
        assert email_template_warnings(portal) == response.context["email_template_warnings"]


def test_por6_the_portal_page_warns_about_languages_without_template(
    client_admin_a, client_member_a, portal
):
    page = reverse("portal_detail", kwargs={"org_slug": portal.org.slug, "portal_pk": portal.pk})
    shown = client_admin_a.get(page).content.decode()
    assert 'id="email-template-warnings"' in shown
    assert "日本語 has no “Confirm email address” template of its own" in shown
    for kind in ("accept_invitation", "confirm_email"):
        for language in ("en", "ja"):
            client_admin_a.post(url("email_template_edit", portal, kind, language), form_data())
    assert 'id="email-template-warnings"' not in client_admin_a.get(page).content.decode()


def test_por6_list_page_runs_a_fixed_number_of_statements(
    client_admin_a, portal, django_assert_max_num_queries
):
    with scopes_disabled():
        for index in range(5):
            UserGroupFactory(portal=portal, name=f"Group {index}")
    client_admin_a.post(url("email_template_edit", portal), form_data())
    with django_assert_max_num_queries(12):
        assert client_admin_a.get(url("email_template_list", portal)).status_code == 200


# --- editing, test email, reset, audit --------------------------------------------------------


def test_por6_editor_offers_merge_fields_and_a_preview(client_admin_a, portal, evil_contact):
    page = client_admin_a.get(url("email_template_edit", portal)).content.decode()
    assert 'id="merge-field"' in page and "{contact_first_name}" in page
    assert "data-insert-merge-field" in page and "js/email_templates.js" in page
    assert 'id="email-preview"' in page and "hx-post" in page
    assert f'<option value="{evil_contact.pk}">' in page
    assert EVIL_NAME not in page  # listed escaped


def test_por6_test_email_goes_to_me_with_sample_values(
    client_admin_a, admin_a, portal, smtp_sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_admin_a.post(url("email_template_test", portal), form_data())
    assert response.status_code == 302
    follow = client_admin_a.get(response["Location"]).content.decode()
    assert f"A test email is on its way to {admin_a.email}." in follow
    ((envelope, message),) = smtp_sink.messages()
    assert envelope.rcpt_tos == [admin_a.email]
    assert message["Subject"] == "Welcome Alex"
    assert saved(portal) is None  # a test changes nothing


def test_por6_save_and_reset_are_audited(client_admin_a, org_a, portal):
    client_admin_a.post(url("email_template_edit", portal), form_data(subject="Mine"))
    assert saved(portal).subject == "Mine"
    confirm = client_admin_a.get(url("email_template_reset", portal))
    assert (
        confirm.status_code == 200 and "goes back to the built-in text" in confirm.content.decode()
    )
    assert saved(portal) is not None
    response = client_admin_a.post(url("email_template_reset", portal))
    assert response.status_code == 302
    assert saved(portal) is None
    with scopes_disabled():
        entries = list(AuditLogEntry.objects.filter(org=org_a).order_by("pk"))
    assert [e.action for e in entries] == ["email_template.changed", "email_template.reset"]
    assert audit_sentence(entries[1].action, entries[1].details) == (
        "The “Accept invitation” email of portal “Alpha Care” in English was reset to default."
    )


def test_por6_the_editor_preview_style_carries_the_pages_nonce(client_admin_a, portal):
    """X-7: the preview frame inherits the page's CSP; its one <style> carries the page's
    nonce, and the email's markup has no style attribute the policy would block."""
    response = client_admin_a.get(url("email_template_edit", portal))
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    html_part = response.context["preview"][2]
    assert f'<style nonce="{nonce}">' in html_part
    assert " style=" not in html_part


def test_por6_style_and_accept_link(client_admin_a, portal):
    client_admin_a.post(
        url("email_template_edit", portal),
        form_data(accept_as="link", colour="#aa0000", background="#fafafa", align="center"),
    )
    with scopes_disabled():
        _s, _t, html = render_preview(portal, content_for(portal, "accept_invitation", "en"), None)
    assert 'class="email-link"' in html and "email-button" not in html
    assert "color: #aa0000" in html and "text-align: center" in html  # inlined by css-inline
    assert "<style>" not in html


def test_por6_bad_style_values_are_refused(client_admin_a, portal):
    response = client_admin_a.post(
        url("email_template_edit", portal), form_data(colour="red;} body{x", size="99999")
    )
    assert response.status_code == 200
    assert "Enter a colour like #1f2933." in response.content.decode()
    assert saved(portal) is None


# --- who may open the pages -----------------------------------------------------------------

PAGES = ["email_template_list", "email_template_edit", "email_template_preview"]


@pytest.mark.parametrize("name", PAGES)
def test_por6_a_member_without_manage_portals_gets_403(name, client_member_a, portal):
    assert client_member_a.get(url(name, portal)).status_code == 403


def test_por6_manage_portals_alone_is_enough(org_a, portal):
    with scopes_disabled():
        profile = Profile.objects.create(org=org_a, name="Portals", permissions=["manage_portals"])
        member = CrmUserFactory(org=org_a, profile=profile)
    client = client_for(member)
    for name in PAGES:
        assert client.get(url(name, portal)).status_code == 200


@pytest.mark.parametrize("name", PAGES + ["email_template_reset"])
def test_por6_another_orgs_portal_is_404(name, client_admin_b, portal):
    assert client_admin_b.get(url(name, portal)).status_code == 404


def test_por6_unknown_kind_language_or_group_is_404(client_admin_a, org_b, portal):
    with scopes_disabled():
        foreign = UserGroupFactory(portal=PortalFactory(org=org_b))
    assert client_admin_a.get(url("email_template_edit", portal, kind="nope")).status_code == 404
    assert client_admin_a.get(url("email_template_edit", portal, language="fr")).status_code == 404
    page = url("email_template_edit", portal, group=foreign)
    assert client_admin_a.get(page).status_code == 404
    edit = url("email_template_edit", portal)
    for odd in ("x1", "²", "１２", "9" * 30):
        assert client_admin_a.get(edit, {"group": odd}).status_code == 404
    preview = url("email_template_preview", portal)
    for odd in ("²", "9" * 30, "\x00"):
        assert client_admin_a.get(preview, {"preview_contact": odd}).status_code == 200


def test_por6_service_refuses_a_group_of_another_portal(org_a, admin_a, portal):
    with scopes_disabled():
        elsewhere = UserGroupFactory(portal=PortalFactory(org=org_a))
        with pytest.raises(PermissionDenied):
            email_template_save(
                portal=portal,
                actor=admin_a,
                kind="accept_invitation",
                language="en",
                group=elsewhere,
                data={"subject": "x", "body_html": "<p>x</p>"},
            )
        assert not EmailTemplate.objects.exists()


def test_por6_wrong_method_is_405(client_admin_a, portal):
    assert client_admin_a.get(url("email_template_test", portal)).status_code == 405


def test_por6_a_portal_invitation_is_sent_with_the_portals_template(
    client_admin_a, org_a, admin_a, portal, smtp_sink, django_capture_on_commit_callbacks
):
    """The portal user kind renders through render_email: the group's language template,
    the contact's escaped name, one Subject line, no Bcc, a plain-text part (POR-3, POR-6)."""
    with scopes_disabled():
        group = UserGroupFactory(portal=portal)
        contact = ContactFactory(
            org=org_a,
            first_name=EVIL_NAME,
            last_name="Tanaka",
            email="yuki@example.jp",
            language="ja",
        )
    client_admin_a.post(
        url("email_template_edit", portal, language="ja"),
        form_data(subject="ようこそ {contact_first_name}\r\nBcc: x@evil.test"),
    )
    with scope(org=org_a), django_capture_on_commit_callbacks(execute=True):
        portal_user_invite(actor=admin_a, portal=portal, contact=contact, group=group)
    ((envelope, message),) = smtp_sink.messages()
    html, text = assert_inert_message(envelope, message, "yuki@example.jp", "<img", EVIL_NAME)
    assert message["Subject"].strip() == f"ようこそ {EVIL_NAME} Bcc: x@evil.test"
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "/invite/" in text
