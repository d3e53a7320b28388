from allauth.account.forms import SignupForm
from django import forms
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .services import organization_create


class OrganizationSignupForm(SignupForm):
    """Sign-up that also opens a new organisation with the signer as super admin (ORG-1)."""

    first_name = forms.CharField(label=_("First name"), max_length=80, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=80)
    organization_name = forms.CharField(
        label=_("Organisation name"),
        max_length=120,
        help_text=_("Your company or team. You can change it later."),
    )

    field_order = [
        "organization_name",
        "first_name",
        "last_name",
        "email",
        "password1",
        "password2",
    ]

    def clean_organization_name(self):
        name = self.cleaned_data["organization_name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter the name of your organisation."))
        return name

    def custom_signup(self, request, user):
        user.language = translation.get_language() or ""
        user.save(update_fields=["language"])
        organization_create(
            name=self.cleaned_data["organization_name"],
            owner=user,
            first_name=self.cleaned_data.get("first_name", ""),
            last_name=self.cleaned_data["last_name"],
        )

    def save(self, request):
        # Account, organisation and membership are written together or not at all.
        with transaction.atomic():
            return super().save(request)
