"""The portal's customisable emails (POR-6): merge fields, the placeholder formatter,
sanitising, rendering inside the one fixed layout, and the services that save and reset a
template.

Admin text is data, never code (DESIGN: Email content). Merge fields are `{name}` placeholders
substituted from a flat, allow-listed context of strings, in the spirit of pretix's
SafeFormatter: a placeholder is a bare name and nothing else, so `{0.__class__}`,
`{contact.__init__}`, `{link!r:>99}` or `{{ settings.SECRET_KEY }}` match no placeholder and stay
as typed; an unknown name stays as typed too. No template engine ever reads admin text: the
layout (templates/portals/email_layout.html) is ours, and the admin's body goes into it as
sanitised HTML.
"""

import contextlib
import contextvars
import datetime
import html
import re
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr

import css_inline
import nh3
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_portal.mail import mail_enqueue
from records.models import Contact
from records.modules import field_specs
from users import permissions
from users.audit import audit_log_write
from users.models import CrmUser
from users.permissions import require_permission, require_same_org

from .default_emails import DEFAULT_EMAILS, DEFAULT_LANGUAGE, EMAIL_LANGUAGES, default_email
from .models import EmailTemplate, Portal, UserGroup

MAX_BODY_BYTES = 200 * 1024
KINDS = tuple(DEFAULT_EMAILS)

# --- the placeholder formatter --------------------------------------------------------------

# A placeholder is `{` + a bare name + `}`: no dots, brackets, `!conversion` or `:spec`.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]{0,80})\}")


def format_placeholders(text: str, context: dict[str, str], *, escape: bool = False) -> str:
    """`text` with each `{name}` of `context` replaced by its value (HTML-escaped when
    `escape`); anything else, an unknown name included, is left exactly as written."""

    def value_of(match: re.Match) -> str:
        name = match.group(1)
        if name not in context:
            return match.group(0)
        return html.escape(context[name]) if escape else context[name]

    return PLACEHOLDER.sub(value_of, text)


def safe_context(raw: dict, allowed: set[str]) -> dict[str, str]:
    """Only the allowed names, each as a string: the formatter never sees an object."""
    context = {}
    for name, value in raw.items():
        if name not in allowed or value is None:
            continue
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, datetime.datetime):
            value = value.strftime("%Y-%m-%d %H:%M UTC")
        elif not isinstance(value, str | int | float | bool):
            continue
        context[name] = str(value)
    return context


# --- merge fields ---------------------------------------------------------------------------

PORTAL_FIELDS = [
    ("portal_name", gettext_lazy("Portal: name")),
    ("portal_url", gettext_lazy("Portal: web address")),
    ("group_name", gettext_lazy("User group: name")),
    ("org_name", gettext_lazy("Organisation: name")),
    ("link", gettext_lazy("The link")),
    ("link_expires_at", gettext_lazy("The link: expiry")),
]


def merge_fields(org) -> list[tuple[str, str]]:
    """(placeholder name, label) of every merge field, for the picker: the contact's fields
    from the field registry (custom fields included), then portal, group, org and link."""
    contact = [
        (f"contact_{spec.key}", _("Contact: %(field)s") % {"field": spec.label})
        for spec in field_specs(org, "contacts")
    ]
    return contact + [(name, str(label)) for name, label in PORTAL_FIELDS]


def merge_field_names(org) -> set[str]:
    return {name for name, _label in merge_fields(org)}


def contact_context(org, contact: Contact) -> dict:
    """The contact's values under their merge-field names (custom values from `custom`)."""
    values = {}
    for spec in field_specs(org, "contacts"):
        value = (contact.custom or {}).get(spec.key) if spec.custom else getattr(contact, spec.key)
        values[f"contact_{spec.key}"] = "" if value is None else value
    return values


def portal_context(portal: Portal, group: UserGroup | None) -> dict:
    return {
        "portal_name": portal.name,
        "portal_url": portal_url(portal),
        "group_name": group.name if group else "",
        "org_name": portal.org.name,
    }


def portal_url(portal: Portal) -> str:
    try:
        path = reverse("portal_home", kwargs={"portal_slug": portal.slug})
    except NoReverseMatch:  # the portal site's routes are someone else's, maybe not merged yet
        path = f"/portal/{portal.slug}/"
    return settings.SITE_URL + path


def sample_context(portal: Portal, group: UserGroup | None) -> dict:
    """Made-up values for the preview and the test email."""
    return {
        "contact_first_name": _("Alex"),
        "contact_last_name": _("Sample"),
        "contact_email": "alex.sample@example.com",
        **portal_context(portal, group),
        "link": f"{settings.SITE_URL}/invite/sample-link/",
        "link_expires_at": datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=7),
    }


# --- sanitising -----------------------------------------------------------------------------

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "a", "ul", "ol", "li",
    "h1", "h2", "h3", "blockquote", "hr", "span", "div",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def body_sanitise(body: str) -> str:
    """The admin's HTML with only a small set of tags; no script, style, event handler or
    javascript:/data: URL survives. Refuses a body over MAX_BODY_BYTES."""
    if len(body.encode()) > MAX_BODY_BYTES:
        raise ValidationError(
            _("The body is too long: at most %(size)d KB.") % {"size": MAX_BODY_BYTES // 1024},
            code="too_long",
        )
    return nh3.clean(
        body,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def subject_clean(subject: str) -> str:
    """One header line: CR, LF and every other line break become spaces."""
    return " ".join(subject.split())


# --- style ----------------------------------------------------------------------------------

FONTS = {
    "sans-serif": ("Arial, Helvetica, sans-serif", gettext_lazy("Sans-serif")),
    "serif": ("Georgia, 'Times New Roman', serif", gettext_lazy("Serif")),
    "monospace": ("'Courier New', monospace", gettext_lazy("Monospace")),
}
ALIGNS = {
    "left": gettext_lazy("Left"),
    "center": gettext_lazy("Centre"),
    "right": gettext_lazy("Right"),
}
STYLE_DEFAULTS = {
    "font": "sans-serif",
    "size": 16,
    "colour": "#1f2933",
    "background": "#ffffff",
    "align": "left",
}
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
SIZES = range(10, 33)


def style_clean(style) -> dict:
    """A style with every value one we allow; anything else takes the default."""
    style = style if isinstance(style, dict) else {}
    clean = dict(STYLE_DEFAULTS)
    if style.get("font") in FONTS:
        clean["font"] = style["font"]
    if style.get("align") in ALIGNS:
        clean["align"] = style["align"]
    for key in ("colour", "background"):
        if isinstance(style.get(key), str) and COLOUR.fullmatch(style[key]):
            clean[key] = style[key].lower()
    try:
        size = int(style.get("size", clean["size"]))
    except (TypeError, ValueError):
        size = clean["size"]
    clean["size"] = size if size in SIZES else STYLE_DEFAULTS["size"]
    return clean


# --- what a template says, customised or not ------------------------------------------------


@dataclass
class EmailContent:
    kind: str
    language: str
    subject: str
    body_html: str
    action: str
    style: dict = field(default_factory=lambda: dict(STYLE_DEFAULTS))
    accept_as: str = EmailTemplate.AcceptAs.BUTTON
    from_name: str = ""
    from_email: str = ""
    reply_to: str = ""
    customised: bool = False


def default_content(kind: str, language: str) -> EmailContent:
    """The shipped text in `language`, or English for a language we don't ship."""
    shipped = default_email(kind, language)
    if shipped is None:
        language, shipped = DEFAULT_LANGUAGE, default_email(kind, DEFAULT_LANGUAGE)
    return EmailContent(kind=kind, language=language, **shipped)


def content_of(template: EmailTemplate) -> EmailContent:
    shipped = default_content(template.kind, template.language)
    return EmailContent(
        kind=template.kind,
        language=template.language,
        subject=template.subject,
        body_html=template.body_html,
        action=shipped.action,
        style=style_clean(template.style),
        accept_as=template.accept_as,
        from_name=template.from_name,
        from_email=template.from_email,
        reply_to=template.reply_to,
        customised=True,
    )


def template_of(
    portal: Portal, kind: str, language: str, group=None, *, templates: dict | None = None
) -> EmailTemplate | None:
    """The customised template: the group's own if it has one, else the portal's. With
    `templates` (templates_by_key: the org's of this kind, read once) no query."""
    if templates is not None:
        own = templates.get((portal.pk, language, group.pk)) if group is not None else None
        return own or templates.get((portal.pk, language, None))
    found = EmailTemplate.objects.filter(portal=portal, kind=kind, language=language)
    if group is not None:
        own = found.filter(group=group).first()
        if own is not None:
            return own
    return found.filter(group__isnull=True).first()


def templates_by_key(org, kind: str) -> dict[tuple, EmailTemplate]:
    """The org's customised templates of `kind` by (portal id, language, group id or None):
    one query, for a batch of emails to several portals (template_of's `templates`)."""
    return {
        (template.portal_id, template.language, template.group_id): template
        for template in EmailTemplate.objects.filter(org=org, kind=kind)
    }


def content_for(
    portal: Portal, kind: str, language: str, group=None, *, templates: dict | None = None
) -> EmailContent:
    """POR-6 language fallback: the requested language if the portal offers it and a
    template exists in it (customised, else shipped); else the portal's default language
    (customised, else shipped); else the English default text. `templates`: see
    template_of."""
    candidates = [language] if portal.offers(language) else []
    candidates.append(portal.default_language)
    for candidate in candidates:
        template = template_of(portal, kind, candidate, group, templates=templates)
        if template is not None:
            return content_of(template)
        if default_email(kind, candidate) is not None:
            return default_content(kind, candidate)
    return default_content(kind, DEFAULT_LANGUAGE)


def languages_without_template(portal: Portal) -> list[tuple[str, str]]:
    """(kind, language) of every offered language with no customised template of its own for
    a kind (group overrides aside): those emails use the built-in text, or fall back."""
    have = set(
        EmailTemplate.objects.filter(portal=portal, group__isnull=True).values_list(
            "kind", "language"
        )
    )
    return [
        (kind, language)
        for language in portal.languages
        for kind in KINDS
        if (kind, language) not in have
    ]


def email_template_warnings(portal: Portal) -> list[str]:
    """POR-6, for the portal's pages: one sentence per offered language that has no
    customised template of a kind (its emails use the built-in text, or fall back)."""
    return [
        _("%(language)s has no “%(kind)s” template of its own: the built-in text is sent.")
        % {"language": EMAIL_LANGUAGES.get(language, language), "kind": _kind_label(kind)}
        for kind, language in languages_without_template(portal)
    ]


# --- rendering ------------------------------------------------------------------------------


class RenderedEmail(tuple):
    """(subject, text, html), carrying the sender and reply-to the invitation core reads
    (invitations.kinds.InvitationKind.render_email)."""

    from_email: str | None = None
    reply_to: list[str] | None = None

    def __new__(cls, subject, text, html_part, *, from_email=None, reply_to=None):
        rendered = super().__new__(cls, (subject, text, html_part))
        rendered.from_email, rendered.reply_to = from_email, reply_to
        return rendered


def sender_of(content: EmailContent) -> str:
    """The template's address, else the org's default sender; with its from name."""
    default_name, default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    address = content.from_email or default_address
    name = subject_clean(content.from_name) or (default_name if not content.from_email else "")
    return formataddr((name, address)) if name else address


# Our layout links no stylesheet and the sanitised body can't: nothing is ever fetched.
INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)


def render(
    content: EmailContent, context: dict, *, allowed: set[str], preview_nonce: str = ""
) -> RenderedEmail:
    """(subject, text, html) of `content` with the allowed names of `context` substituted:
    the HTML inside the fixed layout with the style inlined, a plain-text part beside it.
    With `preview_nonce` (a page's CSP nonce) the style stays one <style> block carrying
    it, so the page's preview frame, which inherits the page's CSP, applies it."""
    values = safe_context(context, allowed)
    subject = subject_clean(format_placeholders(content.subject, values))
    body = body_sanitise(format_placeholders(content.body_html, values, escape=True))
    style = style_clean(content.style)
    link = values.get("link", "")
    layout = render_to_string(
        "portals/email_layout.html",
        {
            "language": content.language,
            "subject": subject,
            "body": mark_safe(body),  # sanitised just above, after substitution  # noqa: S308
            "link": link,
            "action": content.action,
            "as_button": content.accept_as == EmailTemplate.AcceptAs.BUTTON,
            "font": FONTS[style["font"]][0],
            "style": style,
            "nonce": preview_nonce,
        },
    )
    # A plain str either way: whoever shows it must escape it (the preview's srcdoc does).
    html_part = str.__str__(layout) if preview_nonce else INLINER.inline(layout)
    text = f"{html_to_text(body)}\n\n{content.action}: {link}\n" if link else html_to_text(body)
    return RenderedEmail(
        subject,
        text,
        html_part,
        from_email=sender_of(content),
        reply_to=[content.reply_to] if content.reply_to else None,
    )


BLOCK_END = re.compile(r"</(p|div|h1|h2|h3|li|blockquote)>|<br\s*/?>|<hr\s*/?>", re.IGNORECASE)


def html_to_text(body: str) -> str:
    """The plain-text part: block ends become line breaks, tags go, entities are decoded."""
    text = BLOCK_END.sub("\n", body)
    text = html.unescape(nh3.clean(text, tags=set()))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n\n".join(line for line in lines if line).strip() + "\n"


def invitation_context(portal: Portal, group, context: dict) -> dict:
    """The invitation core's context (org_name, link, expires_at, the kind's own values: a
    `contact` is read through its merge fields) plus the portal's values."""
    values = {**context, **portal_context(portal, group)}
    contact = values.pop("contact", None)
    if isinstance(contact, Contact):
        values.update(contact_context(portal.org, contact))
    if "expires_at" in values and "link_expires_at" not in values:
        values["link_expires_at"] = values["expires_at"]
    return values


_BATCH: contextvars.ContextVar[dict | None] = contextvars.ContextVar("email_batch", default=None)


@contextlib.contextmanager
def rendering_batch():
    """Around rendering a batch of invitation emails (the auto-invite sender's): the org's
    templates of the kind (one query, whatever the number of portals and languages) and its
    merge fields are read once for the batch instead of once per email."""
    token = _BATCH.set({})
    try:
        yield
    finally:
        _BATCH.reset(token)


def _once_per_batch(key: tuple, compute):
    memo = _BATCH.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def render_for_invitation(
    portal: Portal, kind: str, language: str, group: UserGroup | None, context: dict
) -> RenderedEmail:
    """What a portal invitation kind's `render_email` returns (invitations.kinds): the
    portal's template for `kind` in the language the fallback picks, rendered with `context`
    (the core's, plus e.g. `contact` or `contact_*` values from the kind's email_context)."""
    if _BATCH.get() is None:  # a single email: its own template's query
        content = content_for(portal, kind, language, group)
    else:  # the org's templates of the kind in one query for the whole batch
        templates = _once_per_batch(
            ("templates", portal.org_id, kind), lambda: templates_by_key(portal.org, kind)
        )
        content = _once_per_batch(
            ("content", portal.pk, kind, language, group.pk if group else None),
            lambda: content_for(portal, kind, language, group, templates=templates),
        )
    allowed = _once_per_batch(("fields", portal.org_id), lambda: merge_field_names(portal.org))
    with translation.override(content.language):
        return render(content, invitation_context(portal, group, context), allowed=allowed)


def render_preview(
    portal: Portal, content: EmailContent, group, contact=None, *, nonce: str = ""
) -> RenderedEmail:
    """The preview and the test email: sample values (in the email's language), with a real
    contact's over them. `nonce`: for a page's preview frame (see `render`)."""
    with translation.override(content.language):
        values = sample_context(portal, group)
        if contact is not None:
            values.update(contact_context(portal.org, contact))
        return render(content, values, allowed=merge_field_names(portal.org), preview_nonce=nonce)


# --- services -------------------------------------------------------------------------------


def _kind_label(kind: str) -> str:
    return str(EmailTemplate.Kind(kind).label)


def sender_addresses(org) -> dict[str, bool]:
    """The org's listed sender addresses (lower case) → verified, from the app the
    EMAIL_SENDER_ADDRESSES setting names (the Campaigns team's, CAM-7); {} when none does."""
    path = getattr(settings, "EMAIL_SENDER_ADDRESSES", "")
    return import_string(path)(org) if path else {}


# CAM-7: a Campaigns team's handful of senders; the picker never grows past this.
MAX_SENDER_CHOICES = 50


def verified_sender_choices(org) -> list[str]:
    """POR-6, CAM-7: the org's verified sender addresses, offered by the template form's
    from-address field; unverified ones are not offered."""
    verified = sorted(email for email, ok in sender_addresses(org).items() if ok)
    return verified[:MAX_SENDER_CHOICES]


def refuse_unverified_sender(org, from_email: str) -> None:
    """POR-6, CAM-7: a template may send from one of the org's verified sender addresses;
    one still waiting for its verification is refused."""
    if from_email and sender_addresses(org).get(from_email.lower()) is False:
        raise ValidationError(
            {
                "from_email": _(
                    "%(email)s is not verified yet: follow the link in its verification "
                    "email first, or choose a verified sender address."
                )
                % {"email": from_email}
            }
        )


@transaction.atomic
def email_template_save(
    *,
    portal: Portal,
    actor: CrmUser,
    kind: str,
    language: str,
    group: UserGroup | None,
    data: dict,
    ip: str | None = None,
) -> EmailTemplate:
    """Customise (or change) the portal's `kind` email in `language` (POR-6): the subject
    loses line breaks, the body is sanitised, the style keeps only allowed values."""
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(portal.org, portal, group)
    require_group_of(portal, group)
    template = EmailTemplate.objects.filter(
        portal=portal, kind=kind, language=language, group=group
    ).first() or EmailTemplate(org=portal.org, portal=portal, kind=kind, language=language)
    template.group = group
    template.subject = subject_clean(data["subject"])
    template.body_html = body_sanitise(data["body_html"])
    template.style = style_clean(data.get("style"))
    template.accept_as = data.get("accept_as") or EmailTemplate.AcceptAs.BUTTON
    template.from_name = subject_clean(data.get("from_name", ""))
    template.from_email = data.get("from_email", "")
    template.reply_to = data.get("reply_to", "")
    refuse_unverified_sender(portal.org, template.from_email)
    template.full_clean(exclude=["org", "portal", "group"], validate_unique=False)
    template.save()
    audit_log_write(
        org=portal.org,
        actor=actor,
        action="email_template.changed",
        details=_audit_details(portal, kind, language, group),
        ip=ip,
    )
    return template


@transaction.atomic
def email_template_reset(
    *,
    portal: Portal,
    actor: CrmUser,
    kind: str,
    language: str,
    group: UserGroup | None,
    ip: str | None = None,
) -> bool:
    """Back to the built-in text: the customised template goes. False when there was none."""
    require_permission(actor, permissions.MANAGE_PORTALS)
    require_same_org(portal.org, portal, group)
    require_group_of(portal, group)
    deleted, _rows = EmailTemplate.objects.filter(
        portal=portal, kind=kind, language=language, group=group
    ).delete()
    if deleted:
        audit_log_write(
            org=portal.org,
            actor=actor,
            action="email_template.reset",
            details=_audit_details(portal, kind, language, group),
            ip=ip,
        )
    return bool(deleted)


def require_group_of(portal: Portal, group: UserGroup | None) -> None:
    """A group's version belongs to a group of the same portal, whatever a caller passed."""
    if group is not None and group.portal_id != portal.pk:
        raise PermissionDenied


def _audit_details(portal, kind, language, group) -> dict:
    return {
        "portal": portal.name,
        "kind": kind,
        "language": language,
        "group": group.name if group else "",
    }


def email_template_test_send(
    *, portal: Portal, actor: CrmUser, content: EmailContent, group: UserGroup | None
) -> str:
    """Send the email, with sample values, to the acting member's own address (POR-6).
    Returns that address."""
    require_permission(actor, permissions.MANAGE_PORTALS)
    rendered = render_preview(portal, content, group)
    subject, text, html_part = rendered
    message = EmailMultiAlternatives(
        subject,
        text,
        from_email=rendered.from_email,
        to=[actor.email],
        reply_to=rendered.reply_to,
    )
    message.attach_alternative(html_part, "text/html")
    mail_enqueue(message)
    return actor.email
