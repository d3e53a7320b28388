"""The users app's forms. They shape the input only; the rules live in the services, which
refuse through ActionRefused and the views show the refusal on the form.

- Sign-up that opens an organisation or answers an invitation (ORG-1, USR-4), and password
  reset: both do the same work whether or not the address has an account (ORG-3).
- A CRM user's access and adding a user (USR-3).
- Profiles, roles and territories (USR-1, USR-2, USR-8).
- User details (USR-6): the date formats offered depend on the chosen locale; the page swaps
  them with htmx when the locale changes, and without JavaScript a mismatched pair is refused
  here.
- The audit log's filters (USR-9) and deleting an organisation (ORG-4).
The import wizard's forms are in imports/forms.py."""

import copy
import secrets

from allauth.account.forms import ResetPasswordForm, SignupForm
from allauth.account.models import EmailAddress
from allauth.account.utils import has_verified_email
from allauth.core import context
from django import forms
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelChoiceField, SafeModelMultipleChoiceField

from crm_portal.forms import SectionedForm, family_name_field_first
from crm_portal.widgets import Combobox, ComboboxMultiple
from invitations.views import invitation_for_signup

from . import permissions, preferences
from .audit import ACTION_LABELS, action_label
from .models import AuditLogEntry, CrmUser, Organization, Profile, Role, Territory, User
from .services.members import DETAIL_FIELDS
from .services.organizations import organization_create

# Where allauth keeps an address proven outside its own flow (an invitation link, USR-4).
VERIFIED_EMAIL_SESSION_KEY = "account_verified_email"


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
        # 姓 before 名 when the page is in Japanese, as in every other form.
        self.order_fields(family_name_field_first(list(self.fields)))
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

    def try_save(self, request):
        if self.account_already_exists:
            self.rehearse_save(request)
        return super().try_save(request)

    def rehearse_save(self, request) -> None:
        """ORG-3: an address that already has an account must not answer sooner than a new
        one. allauth only mails its owner (from a worker, through our adapter), so first we do
        what a real sign-up costs — the password hash, the account, organisation and address
        writes, and the reads that follow them — for a stand-in address, and roll it back."""
        stand_in = copy.copy(self)
        stand_in.account_already_exists = False
        stand_in.cleaned_data = {**self.cleaned_data, "email": rehearsal_address()}
        # An address stashed as verified (USR-4) is the real account's: keep it out.
        stashed = request.session.get(VERIFIED_EMAIL_SESSION_KEY)
        request.session[VERIFIED_EMAIL_SESSION_KEY] = None
        try:
            with transaction.atomic():
                user = super(OrganizationSignupForm, stand_in).save(request)
                read_as_verification_does(user)
                transaction.set_rollback(True)
        finally:
            request.session[VERIFIED_EMAIL_SESSION_KEY] = stashed


def rehearsal_address() -> str:
    """An address no account can have (.invalid is reserved, RFC 2606)."""
    return f"{secrets.token_hex(12)}@signup-rehearsal.invalid"


def read_as_verification_does(user: User) -> None:
    """The reads allauth's verification step makes after a real sign-up: has the account a
    verified address, which address to confirm, and that address's account."""
    has_verified_email(user)
    address = EmailAddress.objects.filter(user_id=user.pk).order_by("-primary", "-verified")[0]
    User.objects.get(pk=address.user_id)


class PasswordResetForm(ResetPasswordForm):
    """ORG-3: a reset asked for an address without an account costs what one with an account
    costs. Both are mailed from a worker (our adapter). A known address also gets a token,
    which reads the account's addresses (allauth's email-aware token); an unknown one makes
    that read too. Looking up a verified address took one read fewer than finding nothing,
    so the two come out even."""

    def save(self, request, **kwargs):
        if not self.users:
            email = self.cleaned_data["email"].lower()
            list(EmailAddress.objects.filter(email=email).values_list("email", flat=True))
        return super().save(request, **kwargs)


# --- members (USR-3) -----------------------------------------------------------------------------


def territory_search_url(org: Organization) -> str:
    return reverse("autocomplete_territories", kwargs={"org_slug": org.slug})


class AccessForm(forms.Form):
    """Role, profile and (when the org uses them) territories of a CRM user."""

    role = SafeModelChoiceField(queryset=Role.objects.none(), label=_("Role"))
    profile = SafeModelChoiceField(queryset=Profile.objects.none(), label=_("Profile"))
    territories = SafeModelMultipleChoiceField(
        queryset=Territory.objects.none(),
        label=_("Territories"),
        required=False,
        widget=ComboboxMultiple,
    )

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = org.roles.order_by("name")
        self.fields["profile"].queryset = org.profiles.order_by("name")
        if org.territories_enabled:
            # Territories grow with the org: a picker that searches them (issue 21).
            self.fields["territories"].widget.url = territory_search_url(org)
            self.fields["territories"].queryset = org.territories.order_by("name")
        else:
            del self.fields["territories"]


class AddUserForm(SectionedForm, AccessForm):
    """USR-3: first and last name, email, role and profile; territories when turned on."""

    sections = [
        (_("Name and contact data"), ["first_name", "last_name", "email", "language"]),
        (_("Access"), ["role", "profile", "territories"]),
    ]

    first_name = forms.CharField(label=_("First name"), max_length=80, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=80)
    email = forms.EmailField(label=_("Email address"))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, required=False)

    field_order = ["first_name", "last_name", "email", "language", "role", "profile", "territories"]

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, org=org, **kwargs)
        self.fields["email"].help_text = _("The invitation goes to this address.")
        if not self.is_bound:
            standard = org.profiles.filter(builtin=Profile.STANDARD).first()
            manager = org.roles.filter(name="Manager").first()
            self.initial.setdefault("profile", standard)
            self.initial.setdefault("role", manager)
            self.initial.setdefault("language", org.language)  # ORG-7: the org's default


# --- profiles, roles and territories (USR-1, USR-2, USR-8) ---------------------------------------


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    description = forms.CharField(
        label=_("Description"),
        max_length=255,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=permissions.PERMISSIONS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, profile: Profile | None = None, **kwargs):
        if profile is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": profile.name,
                    "description": profile.description,
                    "permissions": profile.permissions,
                },
            )
        super().__init__(*args, **kwargs)
        if profile is not None and profile.builtin:
            # Built-in profiles keep their name and permissions; disabled fields ignore posts.
            self.initial["name"] = str(profile)
            self.fields["name"].disabled = True
            field = self.fields["permissions"]
            field.disabled = True
            field.help_text = (
                _("The Administrator profile can do everything; its permissions cannot change.")
                if profile.is_administrator
                else _(
                    "The permissions of a built-in profile cannot change. Create a custom "
                    "profile to choose permissions."
                )
            )


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    parent = SafeModelChoiceField(
        queryset=Role.objects.none(),
        label=_("Reports to"),
        error_messages={"required": _("Choose the role this one reports to.")},
    )
    share_with_peers = forms.BooleanField(
        label=_("Share data with peers"),
        required=False,
        help_text=_("Users in this role also see records owned by others in the same role."),
    )

    def __init__(self, *args, org: Organization, role: Role | None = None, **kwargs):
        if role is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": role.name,
                    "parent": role.parent_id,
                    "share_with_peers": role.share_with_peers,
                },
            )
        super().__init__(*args, **kwargs)
        if role is not None and role.parent_id is None:
            del self.fields["parent"]  # the top role reports to no one
        else:
            self.fields["parent"].queryset = org.roles.order_by("name")


class TerritoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    parent = SafeModelChoiceField(
        queryset=Territory.objects.none(),
        label=_("Part of"),
        required=False,
        widget=Combobox(placeholder=_("None: a top-level territory")),
    )

    def __init__(self, *args, org: Organization, territory: Territory | None = None, **kwargs):
        if territory is not None:
            kwargs.setdefault("initial", {"name": territory.name, "parent": territory.parent_id})
        super().__init__(*args, **kwargs)
        self.fields["parent"].widget.url = territory_search_url(org)
        self.fields["parent"].queryset = org.territories.order_by("name")


class TerritoriesSwitchForm(forms.Form):
    enabled = forms.BooleanField(required=False)


# --- user details (USR-6) ------------------------------------------------------------------------


class UserDetailsForm(SectionedForm, forms.ModelForm):
    sections = [
        (_("Personal"), ["first_name", "last_name", "date_of_birth"]),
        (_("Contact"), ["phone", "mobile", "fax", "website"]),
        (_("Address"), ["street", "city", "state", "postal_code", "country"]),
        (_("Locale & time"), ["language", "locale", "date_format", "time_format", "time_zone"]),
    ]
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    locale = forms.ChoiceField(label=_("Country/locale"), choices=preferences.LOCALE_CHOICES)
    date_format = forms.ChoiceField(label=_("Date format"))
    time_format = forms.ChoiceField(label=_("Time format"), choices=preferences.TIME_FORMAT_CHOICES)
    time_zone = preferences.TimeZoneField(
        label=_("Time zone"),
        error_messages={
            "invalid_choice": _("%(value)s is not a time zone. Choose one from the list.")
        },
    )

    class Meta:
        model = CrmUser
        fields = DETAIL_FIELDS
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "mobile": forms.TextInput(attrs={"type": "tel"}),
            "fax": forms.TextInput(attrs={"type": "tel"}),
        }

    def __init__(self, *args, instance=None, date_formats_url: str = "", **kwargs):
        # Validation writes into the instance; the caller's membership must keep its stored
        # values, because the service compares against them to log what changed (USR-9).
        super().__init__(*args, instance=copy.copy(instance) if instance else None, **kwargs)
        self.locale_in_effect = self._locale_in_effect()
        self._offer_date_formats(self.locale_in_effect)
        if date_formats_url:
            self.fields["locale"].widget.attrs.update(
                {
                    "hx-get": date_formats_url,
                    "hx-target": "#date-format-field",
                    "hx-swap": "outerHTML",
                    "hx-include": "#id_date_format",
                }
            )

    def _locale_in_effect(self) -> str:
        if self.is_bound:
            chosen = self.data.get(self.add_prefix("locale"))
        else:
            chosen = self.initial.get("locale")
        for candidate in (chosen, self.instance.locale):
            if candidate in preferences.LOCALES:
                return candidate
        return preferences.DEFAULT_LOCALE

    def _offer_date_formats(self, locale: str) -> None:
        formats = preferences.date_formats_for(locale)
        field = self.fields["date_format"]
        field.required = False  # "" is "Default for my language"
        language_default = dateformat.format(
            preferences.SAMPLE_DATE, preferences.language_date_format(locale)
        )
        field.choices = [
            (
                preferences.LANGUAGE_DEFAULT,
                _("Default for my language (%(example)s)") % {"example": language_default},
            ),
            *formats,
        ]
        field.error_messages["invalid_choice"] = _(
            "That date format is not used in %(locale)s. Choose one of: %(examples)s."
        ) % {
            "locale": preferences.LOCALES[locale].label,
            "examples": ", ".join(example for _f, example in formats),
        }
        if not self.is_bound and self.initial.get("date_format") not in dict(field.choices):
            self.initial["date_format"] = preferences.LANGUAGE_DEFAULT

    @property
    def locale_label(self) -> str:
        return preferences.LOCALES[self.locale_in_effect].label

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        if born and born > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        return born


# --- audit log (USR-9) and deleting an organisation (ORG-4) --------------------------------------


class AuditLogFilterForm(forms.Form):
    """The audit log's filter bar (USR-9): one row, who, what, whom and which days."""

    actor = forms.ModelChoiceField(
        label=_("Who"), queryset=CrmUser.objects.none(), required=False, empty_label=_("Anyone")
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    target = forms.CharField(label=_("Whom"), required=False, max_length=100)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].queryset = CrmUser.objects.filter(org=org).order_by(
            "last_name", "first_name", "pk"
        )
        logged = AuditLogEntry.objects.filter(org=org).order_by().values_list("action", flat=True)
        codes = set(ACTION_LABELS) | set(logged.distinct())
        choices = sorted(((code, action_label(code)) for code in codes), key=lambda c: c[1])
        self.fields["action"].choices = [("", _("Any action")), *choices]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> dict:
        """The valid filters as selector arguments; an invalid one is shown with its error
        and ignored."""
        if not self.is_bound:
            return {}
        self.is_valid()
        names = ("action", "actor", "target", "date_from", "date_to")
        return {name: self.cleaned_data[name] for name in names if self.cleaned_data.get(name)}


class DeleteOrganizationForm(forms.Form):
    confirm_name = forms.CharField(
        label=_("Type the organisation's name to confirm"), max_length=120
    )
