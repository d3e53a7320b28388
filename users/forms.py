from allauth.account.forms import SignupForm
from allauth.core import context
from django import forms
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelChoiceField, SafeModelMultipleChoiceField

from invitations.views import invitation_for_signup

from .models import Profile, Role, Territory
from .services.organizations import organization_create


class OrganizationSignupForm(SignupForm):
    """Sign-up that also opens a new organisation with the signer as super admin (ORG-1).

    When the person arrived through an invitation link (USR-4), the invited address is fixed
    and no organisation is created: they join the inviting one instead."""

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.invitation = invitation_for_signup(context.request)
        if self.invitation is not None:
            del self.fields["organization_name"]
            self.initial["email"] = self.invitation.email
            self.fields["email"].widget.attrs["readonly"] = True
            self.fields["email"].help_text = _("The address you were invited with.")

    def clean_organization_name(self):
        name = self.cleaned_data["organization_name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter the name of your organisation."))
        return name

    def clean_email(self):
        email = super().clean_email()
        if self.invitation is not None and email.lower() != self.invitation.email.lower():
            raise forms.ValidationError(
                _("This invitation is for %(email)s.") % {"email": self.invitation.email}
            )
        return email

    def custom_signup(self, request, user):
        user.language = translation.get_language() or ""
        user.save(update_fields=["language"])
        if self.invitation is not None:
            return  # they accept the invitation on the next page, with a POST
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


class AccessForm(forms.Form):
    """Role, profile and (when the org uses them) territories of a CRM user."""

    role = SafeModelChoiceField(queryset=Role.objects.none(), label=_("Role"))
    profile = SafeModelChoiceField(queryset=Profile.objects.none(), label=_("Profile"))
    territories = SafeModelMultipleChoiceField(
        queryset=Territory.objects.none(),
        label=_("Territories"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = org.roles.order_by("name")
        self.fields["profile"].queryset = org.profiles.order_by("name")
        if org.territories_enabled:
            self.fields["territories"].queryset = org.territories.order_by("name")
        else:
            del self.fields["territories"]


class AddUserForm(AccessForm):
    """USR-3: first and last name, email, role and profile; territories when turned on."""

    first_name = forms.CharField(label=_("First name"), max_length=80, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=80)
    email = forms.EmailField(label=_("Email address"))

    field_order = ["first_name", "last_name", "email", "role", "profile", "territories"]

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, org=org, **kwargs)
        self.fields["email"].help_text = _("The invitation goes to this address.")
        if not self.is_bound:
            standard = org.profiles.filter(builtin=Profile.STANDARD).first()
            manager = org.roles.filter(name="Manager").first()
            self.initial.setdefault("profile", standard)
            self.initial.setdefault("role", manager)
