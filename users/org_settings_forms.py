"""The forms of the organisation settings page (ORG-7, X-3), one per section. They shape the
input; users.services.org_settings holds the rules and refuses through ActionRefused."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .preferences import TimeZoneField
from .selectors import super_admin_candidates
from .services.org_settings import IDLE_TIMEOUT_MAX, IDLE_TIMEOUT_MIN, NAME_MAX_LENGTH, SLUG_RULE


class OrganizationNameForm(forms.Form):
    name = forms.CharField(label=_("Organisation name"), max_length=NAME_MAX_LENGTH)


class OrganizationSlugForm(forms.Form):
    slug = forms.CharField(label=_("Web address"), max_length=200, help_text=SLUG_RULE)


class OrganizationLocaleForm(forms.Form):
    time_zone = TimeZoneField(
        label=_("Time zone"),
        help_text=_(
            "Members who use the organisation's time zone move with it; members who chose "
            "another one keep theirs."
        ),
    )
    language = forms.ChoiceField(
        label=_("Default language"),
        choices=settings.LANGUAGES,
        help_text=_("New members start with this language; each can change their own."),
    )


class IdleTimeoutForm(forms.Form):
    idle_timeout_minutes = forms.IntegerField(
        label=_("Sign out after this many minutes without activity"),
        required=False,
        min_value=0,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["idle_timeout_minutes"].help_text = _(
            "%(min)s to %(max)s minutes. Leave empty for no limit."
        ) % {"min": IDLE_TIMEOUT_MIN, "max": IDLE_TIMEOUT_MAX}


class SuperAdminTransferForm(forms.Form):
    """ORG-1: the new super admin, chosen among the org's other active administrators."""

    to = forms.ChoiceField(
        label=_("New super admin"),
        error_messages={
            "invalid_choice": _(
                "Only an active user with the Administrator profile can become super admin."
            )
        },
    )

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = {str(m.pk): m for m in super_admin_candidates(org)}
        self.fields["to"].choices = [("", "---------")] + [
            (pk, f"{member} <{member.email}>") for pk, member in self.candidates.items()
        ]

    def clean_to(self):
        return self.candidates[self.cleaned_data["to"]]
