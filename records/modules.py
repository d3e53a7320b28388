"""Every field of every module as data (REC-1): standard fields here, custom fields from the
database. Conditions, the API, imports and portal field visibility list fields through
field_specs()."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .fields import COUNTRY, EMAIL, PHONE, PICKLIST, TEXT, FieldSpec
from .models import Account, Contact, CustomField

MODELS = {"contacts": Contact, "accounts": Account}
# Relations are given by id (or an instance) and tracked as <name>_id.
RELATIONS = {"contacts": ("owner", "account"), "accounts": ("owner",)}


def _standard_contacts() -> list[FieldSpec]:
    subscription = tuple(value for value, _label in Contact.Subscription.choices)
    languages = tuple(code for code, _name in settings.LANGUAGES)
    return [
        FieldSpec("first_name", _("First name"), TEXT),
        FieldSpec("last_name", _("Last name"), TEXT, required=True),
        FieldSpec("email", _("Email"), EMAIL),
        FieldSpec("secondary_email", _("Secondary email"), EMAIL),
        FieldSpec("phone", _("Phone"), PHONE),
        FieldSpec("mobile", _("Mobile"), PHONE),
        FieldSpec("title", _("Title"), TEXT),
        FieldSpec("department", _("Department"), TEXT),
        FieldSpec("subscription", _("Subscription"), PICKLIST, choices=subscription),
        FieldSpec("language", _("Language"), PICKLIST, choices=languages),
        FieldSpec("street", _("Street"), TEXT),
        FieldSpec("city", _("City"), TEXT),
        FieldSpec("state", _("State"), TEXT),
        FieldSpec("postal_code", _("Postal code"), TEXT),
        FieldSpec("country", _("Country"), COUNTRY),
        FieldSpec("description", _("Description"), TEXT),
    ]


def _standard_accounts() -> list[FieldSpec]:
    return [
        FieldSpec("name", _("Account name"), TEXT, required=True),
        FieldSpec("website", _("Website"), TEXT),
        FieldSpec("phone", _("Phone"), PHONE),
        FieldSpec("industry", _("Industry"), TEXT),
        FieldSpec("street", _("Street"), TEXT),
        FieldSpec("city", _("City"), TEXT),
        FieldSpec("state", _("State"), TEXT),
        FieldSpec("postal_code", _("Postal code"), TEXT),
        FieldSpec("country", _("Country"), COUNTRY),
    ]


def standard_specs(module: str) -> list[FieldSpec]:
    return {"contacts": _standard_contacts, "accounts": _standard_accounts}[module]()


def field_specs(org, module: str) -> list[FieldSpec]:
    """Standard then custom fields of the module, in the admin's order."""
    custom = CustomField.objects.filter(org=org, module=module).order_by("position", "pk")
    return standard_specs(module) + [field.spec() for field in custom]
