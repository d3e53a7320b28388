from django import forms
from django.utils.translation import gettext_lazy as _

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
