"""The user details form (USR-6). The date formats offered depend on the chosen locale; the
page swaps them with htmx when the locale changes, and without JavaScript a mismatched pair
is refused here."""

import copy

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import preferences
from .models import CrmUser
from .services.members import DETAIL_FIELDS

FIELD_GROUPS = [
    (_("Personal"), ("first_name", "last_name", "date_of_birth")),
    (_("Contact"), ("phone", "mobile", "fax", "website")),
    (_("Address"), ("street", "city", "state", "postal_code", "country")),
    (_("Locale & time"), ("language", "locale", "date_format", "time_format", "time_zone")),
]


class UserDetailsForm(forms.ModelForm):
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    locale = forms.ChoiceField(label=_("Country/locale"), choices=preferences.LOCALE_CHOICES)
    date_format = forms.ChoiceField(label=_("Date format"))
    time_format = forms.ChoiceField(label=_("Time format"), choices=preferences.TIME_FORMAT_CHOICES)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=[(name, name) for name in preferences.TIME_ZONES],
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
        field.choices = formats
        field.error_messages["invalid_choice"] = _(
            "That date format is not used in %(locale)s. Choose one of: %(examples)s."
        ) % {
            "locale": preferences.LOCALES[locale].label,
            "examples": ", ".join(example for _f, example in formats),
        }
        if not self.is_bound and self.initial.get("date_format") not in dict(formats):
            self.initial["date_format"] = preferences.default_date_format(locale)

    @property
    def locale_label(self) -> str:
        return preferences.LOCALES[self.locale_in_effect].label

    def groups(self):
        """(legend, bound fields) in the order the page shows them."""
        return [(legend, [self[name] for name in names]) for legend, names in FIELD_GROUPS]

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        if born and born > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        return born
