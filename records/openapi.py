"""The OpenAPI 3.1 description of the JSON API (REC-4), served at /api/v1/openapi.json. Every
field's schema comes from records.fields (json_schema, json_read_schema), the rule the server
checks values with, and its maxLength from the model, so the description cannot drift from what
the API accepts (schemathesis driven by this document finds nothing: tests/integration/
test_api_conformance.py). Fetched with a token, the document is the token's organisation's:
its custom fields are properties and its owners and accounts the ids a body may name."""

from django.utils import translation

from crm_portal.params import MAX_PAGE
from users.models import CrmUser

from .fields import (
    DATETIME_PATTERN,
    MAX_LENGTHS,
    FieldSpec,
    json_read_schema,
    json_schema,
)
from .models import Account, Contact
from .modules import field_specs, standard_specs

MAX_PAGE_SIZE = 100
EMAIL_FILTER_LENGTH = 254
# An organisation's ids are listed as an enum up to this many; past it a body may name any id
# and an unknown one is a 400.
MAX_LISTED_IDS = 1000
READ_ONLY = {"readOnly": True, "description": "Set by the server; ignored in a request."}

DESCRIPTION = """\
Create, read and update the contacts of one organisation, as an integration would.

**Authentication.** An organisation administrator creates a token under *Settings → API tokens*
(`/o/<org>/settings/api-tokens/`); its secret, starting with `crm_`, is shown once. Send it as
`Authorization: Bearer <token>`. A missing, unknown or revoked token gets 401 with a
`WWW-Authenticate: Bearer` header. A token acts for its whole organisation. Fetch this document
with your token to have your organisation's custom fields, users and accounts in it.

**Rate limit.** Each token may make a fixed number of requests per clock minute (120 unless
the operator set `API_RATE_LIMIT_PER_MINUTE`). Responses carry `X-RateLimit-Limit` and
`X-RateLimit-Remaining`; beyond the limit the answer is 429 with `Retry-After` in seconds.

**Contacts.** A contact is `id`, the standard fields below, every custom field the organisation
defined (at the top level, under its key), `owner` (a CRM user id) and `account` (an account
id), and the read-only `created_at` and `updated_at` (UTC). Standard text fields are `""` when
blank; custom fields are `null` (`[]` for multi-select, `false` for checkboxes).
Every create and update is recorded as a record event with the source `api`.

**Values.** Each value is checked by its field's type before anything is written, and every
schema below says exactly what is accepted. Text is a JSON string (a number or `true` is
refused, never turned into text), at most the field's `maxLength`, without NUL characters;
spaces around it are removed. Emails, phones, country codes, choices, dates (`2026-12-31`) and
date-times (`2026-12-31T14:30:00Z`, seconds included, an offset up to ±15:59, neither
0001-01-01 nor 9999-12-31) are spelled exactly, without spaces around. Numbers and currencies
are JSON numbers (not strings) from -999,999,999,999,999 to 999,999,999,999,999. A checkbox is
`true` or `false`; a multi-select is a list of its choices. `null` clears a field, and so does
`""` for the text types and `[]` for a multi-select. Read-only keys are ignored; an unknown key
is an error. The body must be sent as `Content-Type: application/json`.

**Query parameters** are checked the same way: a parameter given empty (`?email=`), out of its
bounds or not of its type is a 400 naming it; an unknown parameter is ignored.

**Errors.** 400: `{"errors": {"<field>": ["message", ...]}}` — `__all__` when the body itself is
not a JSON object. 401, 404, 405, 413, 415 and 429: `{"error": "message"}`. A contact of another
organisation and a missing one get the same 404. A method a path does not offer gets 405 with
an `Allow` header. Messages follow the request's `Accept-Language` (English, Japanese).
"""


def max_length_of(spec: FieldSpec) -> int | None:
    """The longest value a field takes: its column's (standard fields) or its type's."""
    if not spec.custom:
        length = Contact._meta.get_field(spec.key).max_length
        if length:
            return length
    return MAX_LENGTHS.get(spec.type)


def _writing(spec: FieldSpec) -> dict:
    return {**json_schema(spec, max_length=max_length_of(spec)), "description": str(spec.label)}


def _reading(spec: FieldSpec) -> dict:
    return {**json_read_schema(spec), "description": str(spec.label)}


def _ids(model, org, description: str) -> dict:
    """The ids a body may name: the org's, when there are not too many to list."""
    if org is not None:
        ids = list(model.objects.filter(org=org).order_by("pk").values_list("pk", flat=True))
        if len(ids) <= MAX_LISTED_IDS:
            return {"enum": [*ids, None], "description": description}
    return {"type": ["integer", "null"], "minimum": 1, "description": description}


def _contact_schemas(org) -> dict:
    specs = field_specs(org, "contacts") if org is not None else standard_specs("contacts")
    relations = {
        "owner": _ids(CrmUser, org, "The id of the CRM user who owns the contact."),
        "account": _ids(Account, org, "The id of the contact's account."),
    }
    read_relations = {
        "owner": {"type": ["integer", "null"], "description": "The owner's id."},
        "account": {"type": ["integer", "null"], "description": "The account's id."},
    }
    # Without a token the organisation's custom fields are unknown: any other key may be one.
    extra = org is None
    custom = "Plus the organisation's custom fields, at the top level under their keys."
    return {
        "Contact": {
            "type": "object",
            "description": custom if extra else "A contact.",
            "properties": {
                "id": {"type": "integer", "readOnly": True},
                **{spec.key: _reading(spec) for spec in specs},
                **read_relations,
                "created_at": {"type": "string", "format": "date-time", "readOnly": True},
                "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
            },
            "required": [
                "id",
                *(s.key for s in specs),
                *read_relations,
                "created_at",
                "updated_at",
            ],
            "additionalProperties": extra,
        },
        "ContactInput": {
            "type": "object",
            "description": (custom + " " if extra else "") + "Only the keys given are changed.",
            "properties": {
                **{spec.key: _writing(spec) for spec in specs},
                **relations,
                **dict.fromkeys(("id", "created_at", "updated_at"), READ_ONLY),
            },
            "additionalProperties": extra,
        },
        "ContactCreate": {
            "allOf": [{"$ref": "#/components/schemas/ContactInput"}],
            "required": [spec.key for spec in specs if spec.required],
        },
        "ContactPage": {
            "type": "object",
            "properties": {
                "count": {"type": "integer", "description": "Contacts matching the filters."},
                "next": {"type": ["string", "null"], "format": "uri"},
                "previous": {"type": ["string", "null"], "format": "uri"},
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}},
            },
            "required": ["count", "next", "previous", "results"],
            "additionalProperties": False,
        },
        "Error": {
            "type": "object",
            "properties": {"error": {"type": "string"}},
            "required": ["error"],
            "additionalProperties": False,
        },
        "ValidationErrors": {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "object",
                    "description": "Messages by field or parameter name; `__all__` for the body.",
                    "minProperties": 1,
                    "additionalProperties": {
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 1,
                    },
                }
            },
            "required": ["errors"],
            "additionalProperties": False,
        },
    }


def _error_response(description: str, schema: str = "Error", **headers) -> dict:
    response = _json(schema, description)
    if headers:
        response["headers"] = {
            name: {"description": text, "schema": {"type": kind}, "required": True}
            for name, (kind, text) in headers.items()
        }
    return response


def _responses() -> dict:
    return {
        "BadRequest": _error_response(
            "A value, a parameter or the body is wrong; each is named.", "ValidationErrors"
        ),
        "Unauthorized": _error_response(
            "No token, or an unknown or revoked one.",
            **{"WWW-Authenticate": ("string", "Bearer")},
        ),
        "NotFound": _error_response("No such contact in this organisation."),
        "MethodNotAllowed": _error_response(
            "The path does not offer this method.",
            Allow=("string", "The methods the path offers."),
        ),
        "PayloadTooLarge": _error_response("The body is larger than the server takes."),
        "UnsupportedMediaType": _error_response("The body is not sent as application/json."),
        "TooManyRequests": _error_response(
            "The token's requests for this minute are used up.",
            **{"Retry-After": ("integer", "Seconds until the next minute starts.")},
        ),
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def _json(schema: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_STATUSES = {
    "BadRequest": "400",
    "NotFound": "404",
    "PayloadTooLarge": "413",
    "UnsupportedMediaType": "415",
}


def _common(*names: str) -> dict:
    return {_STATUSES[name]: _ref(name) for name in names} | {
        "401": _ref("Unauthorized"),
        "405": _ref("MethodNotAllowed"),
        "429": _ref("TooManyRequests"),
    }


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _body(schema: str) -> dict:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    return {"required": True, "content": content}


def _link(operation: str) -> dict:
    return {"operationId": operation, "parameters": {"contact_id": "$response.body#/id"}}


def _list_parameters() -> list[dict]:
    page = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}
    return [
        _query("page", page | {"default": 1}, "Page number."),
        _query(
            "page_size",
            page | {"default": 50},
            f"Contacts per page; more than {MAX_PAGE_SIZE} counts as {MAX_PAGE_SIZE}.",
        ),
        _query(
            "email",
            {
                "type": "string",
                "minLength": 1,
                "maxLength": EMAIL_FILTER_LENGTH,
                "pattern": "^[^\\x00]*$",
            },
            "Only contacts with this email address (compared in lower case).",
        ),
        _query(
            "updated_since",
            {"type": "string", "format": "date-time", "pattern": f"^(?:{DATETIME_PATTERN})$"},
            "Only contacts updated at or after this time.",
        ),
    ]


def _paths() -> dict:
    contact_id = {
        "name": "contact_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
    created = _json("Contact", "Created.") | {
        "headers": {
            "Location": {
                "description": "The contact's URL.",
                "schema": {"type": "string", "format": "uri"},
                "required": True,
            }
        },
        "links": {"GetContact": _link("getContact"), "UpdateContact": _link("updateContact")},
    }
    return {
        "/contacts/": {
            "get": {
                "operationId": "listContacts",
                "summary": "List contacts, oldest id first",
                "parameters": _list_parameters(),
                "responses": {"200": _json("ContactPage", "A page of contacts.")}
                | _common("BadRequest"),
            },
            "post": {
                "operationId": "createContact",
                "summary": "Create a contact",
                "requestBody": _body("ContactCreate"),
                "responses": {"201": created}
                | _common("BadRequest", "PayloadTooLarge", "UnsupportedMediaType"),
            },
        },
        "/contacts/{contact_id}/": {
            "parameters": [contact_id],
            "get": {
                "operationId": "getContact",
                "summary": "Get a contact",
                "responses": {
                    "200": _json("Contact", "The contact.")
                    | {"links": {"UpdateContact": _link("updateContact")}}
                }
                | _common("NotFound"),
            },
            "patch": {
                "operationId": "updateContact",
                "summary": "Change some fields of a contact",
                "description": "Only the keys given change. Changing nothing is a 200 too.",
                "requestBody": _body("ContactInput"),
                "responses": {
                    "200": _json("Contact", "The contact as saved.")
                    | {"links": {"GetContact": _link("getContact")}}
                }
                | _common("BadRequest", "NotFound", "PayloadTooLarge", "UnsupportedMediaType"),
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This description",
                "description": "With a token, the token's organisation's description.",
                "security": [{}, {"bearerAuth": []}],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "401": _ref("Unauthorized"),
                    "405": _ref("MethodNotAllowed"),
                },
            }
        },
    }


def openapi_document(org=None) -> dict:
    """The document, in English whatever the request's language; with `org`, that
    organisation's (call it inside its scope)."""
    with translation.override("en"):
        return {
            "openapi": "3.1.0",
            "info": {"title": "crm-portal API", "version": "1", "description": DESCRIPTION},
            "servers": [{"url": "/api/v1"}],
            "security": [{"bearerAuth": []}],
            "paths": _paths(),
            "components": {
                "securitySchemes": {
                    "bearerAuth": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "An organisation's API token, `crm_` and 43 characters.",
                    }
                },
                "schemas": _contact_schemas(org),
                "responses": _responses(),
            },
        }
