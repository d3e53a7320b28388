"""Record forms built from the field registry (REC-1). The form only shapes the input; the
service validates every value (records.fields), so the UI, the API and imports agree."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_scopes.forms import SafeModelChoiceField

from . import fields as types
from .field_services import ordered_specs
from .models import Account, Contact

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
    label = f"{spec.label} *" if spec.required else spec.label
    common = {"label": label, "required": False}
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


class RecordForm(forms.Form):
    def __init__(self, *args, org, module, record=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.specs = ordered_specs(org, module)  # in the admin's field layout
        for spec in self.specs:
            self.fields[spec.key] = formfield_for(spec)
        # SafeModelChoiceField starts empty (no query at import time); set the org's choices.
        self.fields["owner"] = SafeModelChoiceField(
            queryset=org.crm_users.none(), label=_("Owner"), required=False
        )
        self.fields["owner"].queryset = org.crm_users.filter(status="active").order_by(
            "last_name", "first_name"
        )
        if module == "contacts":
            self.fields["account"] = SafeModelChoiceField(
                queryset=Account.objects.none(),
                label=pgettext_lazy("crm record", "Account"),
                required=False,
            )
            self.fields["account"].queryset = Account.objects.filter(org=org).order_by("name")
        if record is not None and not self.is_bound:
            self.initial.update(self._values_of(record))

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
