"""The OpenAPI 3.1 description of the JSON API (REC-4), served at /api/v1/openapi.json. The
contact schema is built from the standard field specs, so it cannot drift from what the API
writes; each org's custom fields are extra top-level properties, described in prose."""

from django.utils import translation

from .fields import EMAIL, PICKLIST, FieldSpec
from .modules import standard_specs

DESCRIPTION = """\
Create, read and update the contacts of one organisation, as an integration would.

**Authentication.** An organisation administrator creates a token under *Settings → API tokens*
(`/o/<org>/settings/api-tokens/`); its secret, starting with `crm_`, is shown once. Send it as
`Authorization: Bearer <token>`. A missing, unknown or revoked token gets 401 with a
`WWW-Authenticate: Bearer` header. A token acts for its whole organisation.

**Rate limit.** Each token may make a fixed number of requests per clock minute (120 unless
the operator set `API_RATE_LIMIT_PER_MINUTE`). Responses carry `X-RateLimit-Limit` and
`X-RateLimit-Remaining`; beyond the limit the answer is 429 with `Retry-After` in seconds.

**Contacts.** A contact is `id`, the standard fields below, every custom field the organisation
defined (at the top level, under its key, as its type dictates: text, number, `true`/`false`,
a list for multi-select, ISO dates), `owner` (a CRM user id) and `account` (an account id),
and the read-only `created_at` and `updated_at` (UTC). Standard text fields are `""` when
blank; custom fields are `null` (`[]` for multi-select, `false` for checkboxes). In a request
body, `null` or `""` clears a field; read-only keys are ignored; an unknown key is an error.
Every create and update is recorded as a record event with the source `api`.

**Errors.** 400: `{"errors": {"<field>": ["message", ...]}}` — `__all__` when the body itself is
not a JSON object. 401, 404, 405 and 429: `{"error": "message"}`. A contact of another
organisation and a missing one get the same 404. A method a path does not offer gets 405 with
an `Allow` header. Messages follow the request's `Accept-Language` (English, Japanese).
"""


def _standard_property(spec: FieldSpec, *, writing: bool) -> dict:
    types = ["string", "null"] if writing else "string"
    schema: dict = {"type": types, "description": str(spec.label)}
    if spec.type == PICKLIST:
        schema["enum"] = [*spec.choices, ""] + ([None] if writing else [])
    elif spec.type == EMAIL:
        schema["description"] += " (an email address, or empty)"
    return schema


def _id_or_null(description: str) -> dict:
    return {"type": ["integer", "null"], "description": description}


def _contact_schemas() -> dict:
    specs = standard_specs("contacts")
    read = {spec.key: _standard_property(spec, writing=False) for spec in specs}
    write = {spec.key: _standard_property(spec, writing=True) for spec in specs}
    relations = {
        "owner": _id_or_null("The id of the CRM user who owns the contact."),
        "account": _id_or_null("The id of the contact's account."),
    }
    custom = "Plus the organisation's custom fields, at the top level under their keys."
    return {
        "Contact": {
            "type": "object",
            "description": custom,
            "properties": {
                "id": {"type": "integer", "readOnly": True},
                **read,
                **relations,
                "created_at": {"type": "string", "format": "date-time", "readOnly": True},
                "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
            },
            "required": ["id", *read, "owner", "account", "created_at", "updated_at"],
            "additionalProperties": True,
        },
        "ContactInput": {
            "type": "object",
            "description": custom + " Only the keys given are changed.",
            "properties": {**write, **relations},
            "additionalProperties": True,
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
        },
        "Error": {
            "type": "object",
            "properties": {"error": {"type": "string"}},
            "required": ["error"],
        },
        "ValidationErrors": {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "object",
                    "description": "Messages by field name; `__all__` for the body as a whole.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                }
            },
            "required": ["errors"],
        },
    }


def _error_response(description: str, schema: str = "Error", **headers) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
    if headers:
        response["headers"] = {
            name: {"description": text, "schema": {"type": kind}}
            for name, (kind, text) in headers.items()
        }
    return response


def _responses() -> dict:
    return {
        "BadRequest": _error_response(
            "A value, a parameter or the body is wrong.", "ValidationErrors"
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


def _common(*names: str) -> dict:
    return {{"BadRequest": "400", "NotFound": "404"}[name]: _ref(name) for name in names} | {
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


def _paths() -> dict:
    contact_id = {
        "name": "contact_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
    return {
        "/contacts/": {
            "get": {
                "operationId": "listContacts",
                "summary": "List contacts, oldest id first",
                "parameters": [
                    _query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number."),
                    _query(
                        "page_size",
                        {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                        "Contacts per page; more than 100 counts as 100.",
                    ),
                    _query("email", {"type": "string"}, "Only contacts with this email address."),
                    _query(
                        "updated_since",
                        {"type": "string", "format": "date-time"},
                        "Only contacts updated at or after this time (UTC when no offset).",
                    ),
                ],
                "responses": {"200": _json("ContactPage", "A page of contacts.")}
                | _common("BadRequest"),
            },
            "post": {
                "operationId": "createContact",
                "summary": "Create a contact",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ContactCreate"}
                        }
                    },
                },
                "responses": {
                    "201": _json("Contact", "Created.")
                    | {
                        "headers": {
                            "Location": {
                                "description": "The contact's URL.",
                                "schema": {"type": "string", "format": "uri"},
                            }
                        }
                    }
                }
                | _common("BadRequest"),
            },
        },
        "/contacts/{contact_id}/": {
            "parameters": [contact_id],
            "get": {
                "operationId": "getContact",
                "summary": "Get a contact",
                "responses": {"200": _json("Contact", "The contact.")} | _common("NotFound"),
            },
            "patch": {
                "operationId": "updateContact",
                "summary": "Change some fields of a contact",
                "description": "Only the keys given change. Changing nothing is a 200 too.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ContactInput"}
                        }
                    },
                },
                "responses": {"200": _json("Contact", "The contact as saved.")}
                | _common("BadRequest", "NotFound"),
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This description",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def openapi_document() -> dict:
    """The document, in English whatever the request's language."""
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
                "schemas": _contact_schemas(),
                "responses": _responses(),
            },
        }
