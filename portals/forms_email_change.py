"""The "Change email address" form of a portal user (POR-5)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .email_change import email_clean


class EmailChangeForm(forms.Form):
    # No max_length on the widget: an over-long address comes back as an error with what was
    # typed, not silently cut by the browser.
    email = forms.CharField(
        label=_("New email address"),
        strip=False,
        error_messages={"required": _("Enter the new email address.")},
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    def clean_email(self):
        return email_clean(self.cleaned_data["email"])
