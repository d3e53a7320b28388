"""The email template form (POR-6): the fields of an EmailTemplate, its style as separate
choices, and a body checked for size before it is sanitised by the service."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from crm_portal.forms import SectionedForm

from .emails import (
    ALIGNS,
    FONTS,
    MAX_BODY_BYTES,
    SIZES,
    STYLE_DEFAULTS,
    EmailContent,
    body_sanitise,
    subject_clean,
)
from .models import EmailTemplate


class SenderEmailInput(forms.EmailInput):
    """POR-6, CAM-7: an email input that offers the org's verified sender addresses in a
    <datalist> (the browser lists them on focus and as one types) and still takes another
    address; without senders it is a plain email input."""

    def __init__(self, senders=(), attrs=None):
        super().__init__(attrs)
        self.senders = list(senders)

    def render(self, name, value, attrs=None, renderer=None):
        if not self.senders:
            return super().render(name, value, attrs, renderer)
        list_id = f"{(attrs or {}).get('id') or 'id_' + name}_senders"
        attrs = {**(attrs or {}), "list": list_id}
        label = _("Verified sender address")
        options = format_html_join(
            "",
            '<option value="{}" label="{} · {}"></option>',
            ((email, email, label) for email in self.senders),
        )
        return format_html(
            '{}<datalist id="{}" data-senders>{}</datalist>',
            super().render(name, value, attrs, renderer),
            list_id,
            options,
        )


class EmailTemplateForm(SectionedForm, forms.Form):
    sections = [
        (_("Sender"), ["from_name", "from_email", "reply_to"]),
        (_("Message"), ["subject", "body_html", "accept_as"]),
        (_("Style"), ["font", "size", "colour", "background", "align"]),
    ]

    from_name = forms.CharField(
        label=_("From name"),
        max_length=100,
        required=False,
        help_text=_("Empty: the organisation's default sender name."),
    )
    from_email = forms.EmailField(
        label=_("From address"),
        required=False,
        help_text=_("Empty: the organisation's default sender address."),
    )
    reply_to = forms.EmailField(label=_("Reply-to address"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body_html = forms.CharField(
        label=_("Body"),
        # The browser stops at the cap; the server says so in clean_body_html.
        widget=forms.Textarea(
            attrs={"rows": 14, "class": "email-body-input", "maxlength": MAX_BODY_BYTES}
        ),
        help_text=_(
            "HTML with paragraphs, bold, italics, lists and links. Merge fields are written "
            "like {contact_first_name}."
        ),
    )
    accept_as = forms.ChoiceField(label=_("Accept control"), choices=EmailTemplate.AcceptAs.choices)
    font = forms.ChoiceField(
        label=_("Font"), choices=[(key, label) for key, (_css, label) in FONTS.items()]
    )
    size = forms.TypedChoiceField(
        label=_("Text size"),
        coerce=int,
        choices=[(size, f"{size}px") for size in SIZES],
    )
    colour = forms.RegexField(
        label=_("Text colour"),
        regex=r"^#[0-9a-fA-F]{6}$",
        error_messages={"invalid": _("Enter a colour like #1f2933.")},
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    background = forms.RegexField(
        label=_("Background colour"),
        regex=r"^#[0-9a-fA-F]{6}$",
        error_messages={"invalid": _("Enter a colour like #ffffff.")},
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    align = forms.ChoiceField(label=_("Alignment"), choices=list(ALIGNS.items()))

    def __init__(self, *args, senders=(), **kwargs):
        """`senders`: the org's verified sender addresses, offered as from-addresses (CAM-7)."""
        super().__init__(*args, **kwargs)
        if senders:
            field = self.fields["from_email"]
            field.widget = SenderEmailInput(senders)
            field.help_text = _(
                "Choose one of your organisation's verified sender addresses, or type "
                "another. Empty: the organisation's default sender address."
            )

    def clean_subject(self):
        return subject_clean(self.cleaned_data["subject"])

    def clean_from_name(self):
        return subject_clean(self.cleaned_data["from_name"])

    def clean_body_html(self):
        body = self.cleaned_data["body_html"]
        try:
            body_sanitise(body)
        except ValidationError as problem:
            raise ValidationError(problem.messages) from None
        return body

    def data_for_service(self) -> dict:
        data = self.cleaned_data
        style = {key: data[key] for key in STYLE_DEFAULTS}
        return {**{k: v for k, v in data.items() if k not in STYLE_DEFAULTS}, "style": style}

    def content(self, kind: str, language: str, action: str) -> EmailContent:
        """What the form holds now, for the preview and the test email."""
        data = self.data_for_service()
        return EmailContent(
            kind=kind,
            language=language,
            subject=data["subject"],
            body_html=data["body_html"],
            action=action,
            style=data["style"],
            accept_as=data["accept_as"],
            from_name=data["from_name"],
            from_email=data["from_email"],
            reply_to=data["reply_to"],
        )


def initial_of(content: EmailContent) -> dict:
    return {
        "from_name": content.from_name,
        "from_email": content.from_email,
        "reply_to": content.reply_to,
        "subject": content.subject,
        "body_html": content.body_html,
        "accept_as": content.accept_as,
        **content.style,
    }
