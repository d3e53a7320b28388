"""The records app's forms. They only shape the input; the services validate every value
(records.fields), so the UI, the API and imports agree.

- Record forms built from the field registry (REC-1).
- A custom field's settings (REC-1) and an API token's name (REC-4).
The import wizard's forms are in imports/forms.py."""

from django import forms
from django.urls import reverse
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelChoiceField

from crm_portal.countries import country_choices
from crm_portal.forms import SectionedForm
from crm_portal.widgets import Combobox
from users.selectors import default_language_for

from . import fields as types
from .field_services import MAX_LABEL, ordered_specs
from .models import Account, Contact, CustomField

EMPTY_CHOICE = [("", "—")]


def _choice_labels(spec) -> list[tuple[str, str]]:
    labels = {
        "subscription": dict(Contact.Subscription.choices),
        "language": {code: name for code, name in Contact._meta.get_field("language").choices},
    }.get(spec.key, {})
    return [(choice, labels.get(choice, choice)) for choice in spec.choices]


def formfield_for(spec) -> forms.Field:
    # Never required here: the service checks required fields with every other rule, so the
    # user sees all problems at once. The label still says which fields are required.
    common = {"label": spec.label, "required": False}
    if spec.type == types.PICKLIST:
        return forms.ChoiceField(choices=EMPTY_CHOICE + _choice_labels(spec), **common)
    if spec.type == types.MULTISELECT:
        return forms.MultipleChoiceField(
            choices=_choice_labels(spec), widget=forms.CheckboxSelectMultiple, **common
        )
    if spec.type == types.CHECKBOX:
        return forms.BooleanField(label=spec.label, required=False)
    widget = {
        types.EMAIL: forms.EmailInput,
        types.PHONE: lambda: forms.TextInput(attrs={"type": "tel"}),
        types.NUMBER: lambda: forms.TextInput(attrs={"inputmode": "decimal"}),
        types.CURRENCY: lambda: forms.TextInput(attrs={"inputmode": "decimal"}),
        types.DATE: lambda: forms.DateInput(attrs={"type": "date"}),
        types.DATETIME: lambda: forms.DateTimeInput(attrs={"type": "datetime-local"}),
    }.get(spec.type)
    if spec.key == "description":
        widget = lambda: forms.Textarea(attrs={"rows": 3})  # noqa: E731
    # Strings go to the service untouched: it validates and normalises every type.
    return forms.CharField(strip=False, widget=widget() if widget else None, **common)


SECTIONS = {
    "contacts": [
        (
            _("Name and contact data"),
            ["first_name", "last_name", "email", "secondary_email", "phone", "mobile"],
        ),
        (_("Company"), ["account", "title", "department"]),
        (_("Address"), ["street", "city", "state", "postal_code", "country"]),
        (_("CRM"), ["owner", "subscription", "language", "description"]),
    ],
    "accounts": [
        (_("Account"), ["name", "website", "phone", "industry"]),
        (_("Address"), ["street", "city", "state", "postal_code", "country"]),
        (_("CRM"), ["owner"]),
    ],
}


def _picker_url(org, kind: str) -> str:
    return reverse(f"autocomplete_{kind}", kwargs={"org_slug": org.slug})


class RecordForm(SectionedForm, forms.Form):
    def __init__(self, *args, org, module, record=None, creator=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sections = SECTIONS[module]
        self.specs = ordered_specs(org, module)  # in the admin's field layout
        for spec in self.specs:
            self.fields[spec.key] = formfield_for(spec)
        # Owners and accounts grow with the org: pickers that search the server render the
        # chosen option only (issue 21). SafeModelChoiceField starts empty (no query at import
        # time); the queryset set below validates the choice.
        self.fields["owner"] = SafeModelChoiceField(
            queryset=org.crm_users.none(),
            label=_("Owner"),
            required=False,
            widget=Combobox(url=_picker_url(org, "members")),
        )
        self.fields["owner"].queryset = org.crm_users.filter(status="active").order_by(
            "last_name", "first_name"
        )
        if module == "contacts":
            self.fields["account"] = SafeModelChoiceField(
                queryset=Account.objects.none(),
                label=pgettext_lazy("crm record", "Account"),
                required=False,
                widget=Combobox(url=_picker_url(org, "accounts")),
            )
            self.fields["account"].queryset = Account.objects.filter(org=org).order_by("name")
        if "country" in self.fields:
            self.fields["country"].widget = Combobox(url=_picker_url(org, "countries"))
            self.fields["country"].widget.choices = country_choices()
        if record is not None and not self.is_bound:
            self.initial.update(self._values_of(record))
        elif record is None and creator is not None:
            self.initial["owner"] = creator.pk  # REC-5: new records are the creator's
            self.fields["owner"].help_text = _("Left empty, you are the owner.")
            if "language" in self.fields:
                self.initial["language"] = default_language_for(org)

    def shows_required(self, name: str) -> bool:
        # The fields are never required here (see formfield_for); the spec says which are.
        return any(spec.key == name and spec.required for spec in self.specs)

    def section_names(self) -> list[tuple[str, list[str]]]:
        """Standard fields in their sections, in the admin's layout order. A custom field
        the layout places before a standard field joins the section of the field before it;
        the others go to "More fields"."""
        section_of = {
            name: index for index, (_legend, names) in enumerate(self.sections) for name in names
        }
        placed: list[list[str]] = [[] for _section in self.sections]
        more, previous = [], None
        layout = [spec.key for spec in self.specs]
        for position, spec in enumerate(self.specs):
            if spec.key in section_of:
                previous = section_of[spec.key]
                placed[previous].append(spec.key)
            elif previous is not None and any(key in section_of for key in layout[position:]):
                placed[previous].append(spec.key)
            else:
                more.append(spec.key)
        for name in ("account", "owner"):  # not in the layout: first in their sections
            if name in self.fields:
                placed[section_of[name]].insert(0, name)
        legends = [legend for legend, _names in self.sections]
        return [*zip(legends, placed, strict=True), (self.last_section_legend, more)]

    def _values_of(self, record) -> dict:
        values = {}
        for spec in self.specs:
            value = (
                (record.custom or {}).get(spec.key) if spec.custom else getattr(record, spec.key)
            )
            if spec.type == types.DATETIME and value:
                value = str(value)[:16]
            values[spec.key] = value
        values["owner"] = record.owner_id
        if hasattr(record, "account_id"):
            values["account"] = record.account_id
        return values

    def data_for_service(self) -> dict:
        return dict(self.cleaned_data)

    def add_service_errors(self, error) -> None:
        for key, messages in error.message_dict.items():
            self.add_error(key if key in self.fields else None, messages)


class CustomFieldForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=MAX_LABEL)
    field_type = forms.ChoiceField(
        label=_("Type"),
        choices=[("", "—"), *types.FIELD_TYPES],
        error_messages={"required": _("Choose the type of the field.")},
    )
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("For picklist and multi-select fields only: one choice per line, up to 100."),
    )
    required = forms.BooleanField(
        label=_("Required"),
        required=False,
        help_text=_("A record cannot be saved without a value in this field."),
    )

    def __init__(self, *args, field: CustomField | None = None, **kwargs):
        if field is not None:
            kwargs.setdefault(
                "initial",
                {
                    "label": field.label,
                    "choices": "\n".join(field.choices),
                    "required": field.required,
                },
            )
        super().__init__(*args, **kwargs)
        if field is None:
            return
        del self.fields["field_type"]  # the type never changes: records hold values of it
        if field.field_type in types.TYPES_WITH_CHOICES:
            self.fields["choices"].help_text = gettext(
                "One choice per line. A choice that records still use cannot be removed or renamed."
            )
        else:
            del self.fields["choices"]

    def choice_lines(self) -> list[str]:
        return self.cleaned_data.get("choices", "").splitlines()


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_("What uses the token, e.g. “Website sign-up form”."),
    )
