"""The forms of a portal's settings and of its user groups (POR-1, POR-2). The checks are the
services' own (portals/config.py), run here too so that every mistake shows at once."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm_portal.exceptions import ActionRefused
from crm_portal.forms import SectionedForm
from records.modules import field_specs
from users.permissions import RECORD_MODULES

from . import config
from .models import MODULE_ACTIONS, RECORD_SCOPES


class ColourInput(forms.TextInput):
    input_type = "color"


def _refusal(check, *args, **kwargs):
    try:
        return check(*args, **kwargs)
    except ActionRefused as refusal:
        raise ValidationError(refusal.message) from refusal


class PortalForm(SectionedForm, forms.Form):
    sections = [
        (_("Portal"), ["name", "slug"]),
        (_("Languages"), ["languages", "default_language"]),
        (_("Branding"), ["logo", "remove_logo", "primary_colour", "background_colour"]),
    ]

    name = forms.CharField(label=_("Name"), max_length=120)
    slug = forms.CharField(
        label=_("Web address"),
        max_length=60,
        help_text=_(
            "The portal lives at /portal/ followed by this address: lowercase letters, digits "
            "and hyphens."
        ),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages offered"),
        choices=settings.LANGUAGES,
        widget=forms.CheckboxSelectMultiple,
    )
    default_language = forms.ChoiceField(label=_("Default language"), choices=settings.LANGUAGES)
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("PNG, JPEG, GIF or WebP."),
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    primary_colour = forms.CharField(label=_("Main colour"), initial="#2563eb", widget=ColourInput)
    background_colour = forms.CharField(
        label=_("Background colour"), initial="#f5f7fb", widget=ColourInput
    )

    def __init__(self, *args, portal=None, **kwargs):
        self.portal = portal
        if portal is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": portal.name,
                    "slug": portal.slug,
                    "languages": portal.languages,
                    "default_language": portal.default_language,
                    "primary_colour": portal.primary_colour,
                    "background_colour": portal.background_colour,
                },
            )
        else:
            kwargs.setdefault(
                "initial",
                {
                    "languages": [code for code, _name in settings.LANGUAGES],
                    "default_language": settings.LANGUAGE_CODE[:2],
                },
            )
        super().__init__(*args, **kwargs)
        if portal is None or not portal.logo:
            del self.fields["remove_logo"]

    def clean_name(self):
        return _refusal(config.check_name, self.cleaned_data["name"])

    def clean_slug(self):
        exclude = self.portal.pk if self.portal else None
        return _refusal(config.check_slug, self.cleaned_data["slug"], exclude_pk=exclude)

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo:
            _refusal(config.check_logo, logo)
        return logo

    def clean_primary_colour(self):
        return _refusal(config.check_colour, self.cleaned_data["primary_colour"], "primary_colour")

    def clean_background_colour(self):
        value = self.cleaned_data["background_colour"]
        return _refusal(config.check_colour, value, "background_colour")

    def clean(self):
        data = super().clean()
        if "languages" in data and "default_language" in data:
            try:
                config.check_languages(data["languages"], data["default_language"])
            except ActionRefused as refusal:
                self.add_error(refusal.field, refusal.message)
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {
            key: data[key]
            for key in (
                "name",
                "slug",
                "languages",
                "default_language",
                "primary_colour",
                "background_colour",
            )
        }
        arguments["logo"] = data.get("logo") or None
        if self.portal is not None:
            arguments["remove_logo"] = bool(data.get("remove_logo"))
        return arguments


class ModuleRow:
    """One module's row of the user group editor: its fields of the form, by part."""

    def __init__(self, form, module: str, label):
        self.module = module
        self.label = label
        self.shared = form[f"{module}-shared"]
        self.actions = form[f"{module}-actions"]
        self.records = form[f"{module}-records"]
        self.fields_shown = form[f"{module}-fields_shown"]
        self.fields_editable = form[f"{module}-fields_editable"]

    @property
    def errors(self):
        return [
            error
            for bound in (
                self.shared,
                self.actions,
                self.records,
                self.fields_shown,
                self.fields_editable,
            )
            for error in bound.errors
        ]


class UserGroupForm(forms.Form):
    """A group's name and, per module of the records' registry, what it shares (POR-2)."""

    name = forms.CharField(label=_("Name"), max_length=80)

    def __init__(self, *args, org, portal, group=None, **kwargs):
        self.org, self.portal, self.group = org, portal, group
        super().__init__(*args, **kwargs)
        labels = dict(RECORD_MODULES)
        self.module_labels = {}
        stored = group.modules if group else {}
        if group is not None:
            self.initial.setdefault("name", group.name)
        for module in config.group_modules():
            self.module_labels[module] = labels.get(module, module)
            choices = [(spec.key, spec.label) for spec in field_specs(org, module)]
            spec = stored.get(module) or {}
            self.fields[f"{module}-shared"] = forms.BooleanField(
                label=_("Shared"), required=False, initial=bool(spec)
            )
            self.fields[f"{module}-actions"] = forms.MultipleChoiceField(
                label=_("Actions"),
                choices=MODULE_ACTIONS,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=spec.get("actions", ["view"]),
            )
            self.fields[f"{module}-records"] = forms.ChoiceField(
                label=_("Records"),
                choices=RECORD_SCOPES,
                widget=forms.RadioSelect,
                required=False,
                initial=spec.get("records", "own"),
            )
            self.fields[f"{module}-fields_shown"] = forms.MultipleChoiceField(
                label=_("Fields shown"),
                choices=choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=spec.get("fields_shown", []),
            )
            self.fields[f"{module}-fields_editable"] = forms.MultipleChoiceField(
                label=_("Fields editable"),
                choices=choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=spec.get("fields_editable", []),
            )

    def module_rows(self) -> list[ModuleRow]:
        return [ModuleRow(self, module, label) for module, label in self.module_labels.items()]

    def modules(self) -> dict:
        data = self.cleaned_data
        return {
            module: {
                "actions": data.get(f"{module}-actions") or [],
                "records": data.get(f"{module}-records") or "",
                "fields_shown": data.get(f"{module}-fields_shown") or [],
                "fields_editable": data.get(f"{module}-fields_editable") or [],
            }
            for module in self.module_labels
            if data.get(f"{module}-shared")
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        for module, spec in self.modules().items():
            try:
                config.clean_group_modules(self.org, {module: spec})
            except ActionRefused as refusal:
                field = refusal.field if refusal.field in self.fields else None
                self.add_error(field, refusal.message)
        return data
