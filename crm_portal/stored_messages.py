"""Messages stored now and shown later (X-1, X-8): an import row's reason, a value's problem.
They are stored as a code with named parameters, {"code": …, "params": {…}}, and rendered in
the language of whoever reads them, so a reason written by an English import reads in Japanese
for a Japanese viewer. `render` never raises: an unknown code or a missing parameter falls back
to something readable."""

import json

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

MESSAGES = {
    # Reading a row
    "row.unreadable": _("Could not be read: %(error)s"),
    "row.nothing_to_change": _("Nothing to change."),
    "row.field_problem": _("%(field)s: %(problem)s"),
    # A value's problem (records.fields.value_problem, REC-1)
    "value.required": _("%(field)s is required."),
    "value.unstorable": _("%(field)s contains characters that cannot be stored."),
    "value.too_long": _("%(field)s is longer than %(limit)s characters."),
    "value.email_invalid": _("“%(value)s” is not a valid email address."),
    "value.phone_invalid": _("“%(value)s” is not a phone number."),
    "value.country_invalid": _("%(field)s must be a two-letter country code such as FR or JP."),
    "value.not_a_choice": _("“%(value)s” is not one of the choices of %(field)s."),
    "value.not_a_number": _("%(field)s must be a number."),
    "value.too_many_digits": _("%(field)s has more than %(digits)s significant digits."),
    "value.number_range": _("%(field)s must be between -%(limit)s and %(limit)s."),
    "value.date_invalid": _("%(field)s must be a date like 2026-12-31."),
    "value.datetime_invalid": _("%(field)s must be a date and time like 2026-12-31 14:30."),
    "value.offset_range": _("%(field)s needs a time zone offset between -15:59 and +15:59."),
    "value.datetime_range": _("%(field)s must be between %(start)s and %(end)s."),
    "value.not_yes_no": _("%(field)s must be yes or no."),
    # User imports (IMP-3)
    "user.no_such_id": _("No user has the ID %(id)s."),
    "user.already_user": _("%(email)s is already a user."),
    "user.no_match": _("No existing user matches this row."),
    "user.exists_match_by_email": _("%(email)s is already a user; match by email to update them."),
    "row.earlier_in_file": _("%(email)s appears earlier in the file (row %(row)s)."),
    "user.no_licence": _("No licence left."),
    "user.already_updated": _("This user was already updated by row %(row)s."),
    "user.last_name_required": _("Last name is required."),
    "user.email_required": _("Email address is required for a new user."),
    "user.email_invalid": _("“%(email)s” is not a valid email address."),
    "user.website_invalid": _("“%(value)s” is not a valid website address."),
    "user.no_such_role": _("No role is named or numbered “%(value)s”."),
    "user.no_such_profile": _("No profile is named or numbered “%(value)s”."),
    "user.no_default_role": _("The default role Manager does not exist; name a role."),
    "user.super_admin_profile": _("The super admin always has the Administrator profile."),
    "user.last_admin": _("%(name)s is the last active administrator."),
    # Contact imports (IMP-4)
    "contact.no_match_empty": _("No matching contact: the row has no %(field)s."),
    "contact.no_match": _("No matching contact for %(value)s."),
    "contact.shared_email": _(
        "%(count)s contacts have the email address %(email)s; match by contact ID."
    ),
    "contact.already_changed": _("This contact was already changed by row %(row)s."),
    "contact.already_contact": _("%(name)s is already a contact."),
    "contact.may_not_edit": _("%(name)s may no longer edit contacts."),
    "contact.may_not_create": _("%(name)s may no longer create contacts."),
    "contact.may_not_change": _("%(name)s may no longer change contacts."),
    "contact.no_such_owner": _("No CRM user of this organisation has the email address %(value)s."),
    "contact.many_accounts": _("%(count)s accounts are named “%(value)s”."),
    "contact.no_such_account": _(
        "No account is named “%(value)s”. Create it first, then import again."
    ),
    "importer.unknown": _("The person who started this import"),
}


def stored(code: str, **params) -> dict:
    """A message to store: its code and its parameters, all JSON-safe."""
    return {"code": code, "params": {k: _json_safe(v) for k, v in params.items()}}


def dumps(code: str, **params) -> str:
    """A stored message as a string, for a text column (an import row's reason)."""
    return json.dumps(stored(code, **params), ensure_ascii=False)


def from_validation_error(error) -> list[dict]:
    """A ValidationError's messages as stored messages: those raised with a registered code
    (records.fields.value_problem) keep code and parameters; any other is kept as text."""
    found = []
    for item in error.error_list:
        if item.code in MESSAGES and isinstance(item.params, dict):
            found.append(stored(item.code, **item.params))
        else:
            found.extend(stored("text", text=message) for message in item)
    return found


def render(code: str, params: dict | None = None) -> str:
    """The message in the current language. Parameters that are themselves stored messages
    are rendered first. Never raises: an unknown code shows its parameters, a missing
    parameter shows as "—"."""
    params = {str(k): _rendered(v) for k, v in (params or {}).items()}
    if code == "text":  # a message that came as text (a refusal from outside the registry)
        return str(params.get("text", ""))
    template = MESSAGES.get(code)
    if template is None:
        shown = "; ".join(str(v) for v in params.values() if v not in (None, ""))
        return shown or str(code)
    try:
        return str(template) % _Lenient(params)
    except (TypeError, ValueError):
        return str(template)


class _Lenient(dict):
    def __missing__(self, key):
        return "—"


def render_text(text: str) -> str:
    """A stored text column: a stored message as JSON is rendered; anything else (rows
    written before messages were stored as codes) is shown as it is."""
    message = parse(text)
    return text if message is None else render(message["code"], message.get("params"))


def parse(text: str) -> dict | None:
    if not text or not text.startswith("{"):
        return None
    try:
        message = json.loads(text)
    except ValueError:
        return None
    if isinstance(message, dict) and isinstance(message.get("code"), str):
        return message
    return None


def _rendered(value):
    if isinstance(value, dict) and isinstance(value.get("msgid"), str):
        return gettext(value["msgid"]) if value["msgid"] else ""
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        return render(value["code"], value.get("params"))
    if isinstance(value, list):
        return "; ".join(str(_rendered(v)) for v in value)
    return value


def _json_safe(value):
    if isinstance(value, Promise):  # a translatable label: stored as its msgid, shown translated
        with translation.override(None):
            return {"msgid": str(value)}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)
