"""Forms of the Campaigns team pages (CAM-1, CAM-2, CAM-9): they check shape only; the
services decide the rules and refuse through ActionRefused."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import permissions
from .selectors import roles_of


class RoleChoiceForm(forms.Form):
    role = forms.ModelChoiceField(label=_("Role"), queryset=None, empty_label=None)

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = roles_of(org)


class InviteForm(RoleChoiceForm):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    language = forms.ChoiceField(label=_("Language of the invitation"), choices=settings.LANGUAGES)

    field_order = ["email", "role", "language"]


class RetargetForm(forms.Form):
    email = forms.EmailField(label=_("New email address"), max_length=254)


class CampaignRoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=permissions.CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class SenderForm(forms.Form):
    email = forms.EmailField(label=_("Sender address"), max_length=254)
