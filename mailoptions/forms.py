from django import forms
from django.utils.translation import gettext_lazy as _

from crm_portal.forms import SectionedForm
from crm_portal.params import choice_param, text_param

from .models import Mailbox

LOCK_CHOICES = [("", _("Any")), ("locked", _("Locked")), ("unlocked", _("Not locked"))]


class MailUserFilters:
    """The admin page's filters (MAIL-1), read through crm_portal.params: a hostile value
    becomes "any", never an error."""

    def __init__(self, params):
        self.status = choice_param(params, "status", ["active", "deactivated"], "active")
        self.sharing = choice_param(params, "sharing", Mailbox.Sharing.values)
        self.lock = choice_param(params, "lock", ["locked", "unlocked"])
        self.result = choice_param(params, "result", Mailbox.SyncResult.values)
        self.query = text_param(params, "q")

    def as_kwargs(self) -> dict:
        return {
            "status": self.status,
            "sharing": self.sharing,
            "lock": self.lock,
            "result": self.result,
            "query": self.query,
        }

    @property
    def active(self) -> bool:
        return bool(self.sharing or self.lock or self.result or self.query)


class MailUserFilterForm(forms.Form):
    """Only renders the filter bar; MailUserFilters reads the values."""

    sharing = forms.ChoiceField(
        label=_("Sharing"), required=False, choices=[("", _("Any")), *Mailbox.Sharing.choices]
    )
    lock = forms.ChoiceField(label=_("Lock"), required=False, choices=LOCK_CHOICES)
    result = forms.ChoiceField(
        label=_("Last sync"),
        required=False,
        choices=[("", _("Any")), *Mailbox.SyncResult.choices],
    )


class MailboxForm(SectionedForm, forms.Form):
    """A user's own mailbox and sharing (MAIL-5). The password is never shown again: left
    empty, the stored one is kept."""

    sections = [
        (_("Mailbox"), ["host", "port", "security", "login", "secret"]),
        (_("Sharing"), ["sharing"]),
    ]

    host = forms.CharField(label=_("IMAP server"), max_length=253)
    port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535, initial=993)
    security = forms.ChoiceField(label=_("Security"), choices=Mailbox.Security.choices)
    login = forms.CharField(label=_("Login"), max_length=254)
    secret = forms.CharField(
        label=_("Password or app password"),
        required=False,
        max_length=500,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    sharing = forms.ChoiceField(
        label=_("Sharing"),
        choices=Mailbox.Sharing.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Don't share: only you see your messages. Record-level sharing: others see the "
            "messages linked to records they may see. Share all: everyone in the organisation."
        ),
    )

    def __init__(self, *args, mailbox=None, **kwargs):
        initial = kwargs.pop("initial", {})
        if mailbox is not None:
            initial = {f: getattr(mailbox, f) for f in ("host", "port", "security", "login")}
            initial["sharing"] = mailbox.sharing
        super().__init__(*args, initial=initial, **kwargs)
        if mailbox is not None:
            self.fields["secret"].help_text = _("Leave empty to keep the stored password.")
            if mailbox.locked:
                for field in self.fields.values():
                    field.disabled = True


class ContactEmailForm(forms.Form):
    """An email to a contact, sent from their page (MAIL-5)."""

    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Message"), max_length=20_000, widget=forms.Textarea)
