"""Forms of the portal users (POR-3, POR-8). The user group is one <select> of the org's
portals' groups, grouped by portal: choosing a group chooses its portal."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .members import portal_groups_of


def group_choices(org) -> list:
    """[(portal name, [(group pk, group name), …]), …] for an <optgroup> per portal."""
    choices: dict = {}
    for group in portal_groups_of(org):
        choices.setdefault(group.portal.name, []).append((group.pk, group.name))
    return list(choices.items())


class PortalInviteForm(forms.Form):
    group = forms.TypedChoiceField(label=_("Portal and user group"), coerce=int)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = group_choices(org)
