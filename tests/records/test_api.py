"""The JSON API as an integration uses it (REC-4), and the events it records (REC-3): per-org
tokens stored as hashes, contacts created, read, listed and patched, errors as JSON, the rate
limit, the admin pages for tokens and the OpenAPI description."""

import hashlib
import json
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from records import api as records_api
from records.api import api_token_create, api_token_revoke
from records.models import ApiToken, Contact, CustomField, RecordEvent
from records.modules import standard_specs
from records.services import contact_create
from tests.records.factories import ContactFactory
from users.models import AuditLogEntry

API = "/api/v1/contacts/"


def tokens_url(org, suffix=""):
    return f"/o/{org.slug}/settings/api-tokens/{suffix}"


def new_token(org, actor, name="Website"):
    with scope(org=org):
        return api_token_create(org=org, actor=actor, name=name)


def bearer(secret) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def api_a(org_a, admin_a):
    return bearer(new_token(org_a, admin_a)[1])


@pytest.fixture
def api_b(org_b, admin_b):
    return bearer(new_token(org_b, admin_b)[1])


@pytest.fixture
def custom_fields(org_a):
    with scopes_disabled():
        CustomField.objects.create(
            org=org_a, module="contacts", key="seats", label="Seats", field_type="number"
        )
        CustomField.objects.create(
            org=org_a,
            module="contacts",
            key="tier",
            label="Tier",
            field_type="picklist",
            choices=["Gold", "Silver"],
            position=1,
        )
        CustomField.objects.create(
            org=org_a, module="contacts", key="vip", label="VIP", field_type="checkbox", position=2
        )


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def events(org):
    with scopes_disabled():
        return list(RecordEvent.objects.filter(org=org).order_by("pk"))


def contacts(org):
    with scopes_disabled():
        return list(Contact.objects.filter(org=org).order_by("pk"))


# --- create, get, patch: the events (REC-3, REC-4) ------------------------------------------------


def test_rec4_create_answers_201_with_location_and_records_an_api_event(api_a, org_a, admin_a):
    response = post(
        api_a,
        API,
        {
            "first_name": "Yuki",
            "last_name": "Mori",
            "email": "Yuki@Example.jp",
            "subscription": "paid",
            "owner": admin_a.pk,
        },
    )
    assert response.status_code == 201
    body = response.json()
    [contact] = contacts(org_a)
    assert response["Location"] == f"http://testserver{API}{contact.pk}/"
    assert body["id"] == contact.pk
    assert (body["email"], body["subscription"], body["owner"]) == (
        "yuki@example.jp",
        "paid",
        admin_a.pk,
    )
    [event] = events(org_a)
    assert (event.kind, event.source, event.actor_id, event.record_id) == (
        "create",
        "api",
        None,
        contact.pk,
    )
    assert event.changes["last_name"] == [None, "Mori"]
    assert event.changes["email"] == [None, "yuki@example.jp"]
    assert event.changes["owner_id"] == [None, admin_a.pk]
    assert api_a.get(response["Location"]).json() == body


def test_rec4_contact_json_has_every_standard_and_custom_field(api_a, org_a, custom_fields):
    with scope(org=org_a):
        contact = contact_create(
            org=org_a, actor=None, data={"last_name": "Mori", "seats": "12", "tier": "Gold"}
        )
    body = api_a.get(f"{API}{contact.pk}/").json()
    standard = [spec.key for spec in standard_specs("contacts")]
    assert list(body) == [
        "id",
        *standard,
        "seats",
        "tier",
        "vip",
        "owner",
        "account",
        "created_at",
        "updated_at",
    ]
    assert (body["seats"], body["tier"], body["vip"]) == (12, "Gold", False)
    assert (body["owner"], body["account"], body["email"]) == (None, None, "")
    assert body["updated_at"].endswith("Z")


def test_rec4_patch_changes_only_the_given_fields_and_records_old_and_new(api_a, org_a):
    created = post(api_a, API, {"last_name": "Mori", "email": "old@example.org"}).json()
    url = f"{API}{created['id']}/"

    response = patch(api_a, url, {"email": "new@example.org", "subscription": "trial"})

    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["subscription"], body["last_name"]) == (
        "new@example.org",
        "trial",
        "Mori",
    )
    update = events(org_a)[-1]
    assert (update.kind, update.source, update.actor_id) == ("update", "api", None)
    assert update.changes == {
        "email": ["old@example.org", "new@example.org"],
        "subscription": ["none", "trial"],
    }


def test_rec4_patch_that_changes_nothing_is_200_without_an_event(api_a, org_a):
    created = post(api_a, API, {"last_name": "Mori"}).json()
    response = patch(
        api_a,
        f"{API}{created['id']}/",
        # what an integration sends back after a GET: the read-only keys are ignored
        {"last_name": "Mori", "id": 999, "updated_at": "2000-01-01T00:00:00Z"},
    )
    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert [e.kind for e in events(org_a)] == ["create"]


# --- list ---------------------------------------------------------------------------------------


def test_rec4_list_pages_by_id_with_next_and_previous(api_a, org_a):
    with scopes_disabled():
        made = [c.pk for c in ContactFactory.create_batch(5, org=org_a)]

    first = api_a.get(API, {"page_size": 2}).json()
    assert first["count"] == 5
    assert [c["id"] for c in first["results"]] == made[:2]
    assert first["previous"] is None
    assert first["next"] == f"http://testserver{API}?page_size=2&page=2"

    last = api_a.get(api_a.get(first["next"]).json()["next"]).json()
    assert [c["id"] for c in last["results"]] == made[4:]
    assert last["next"] is None
    assert last["previous"] == f"http://testserver{API}?page_size=2&page=2"


def test_rec4_list_page_size_is_at_most_100_and_parameters_are_checked(api_a, org_a):
    with scopes_disabled():
        ContactFactory.create_batch(3, org=org_a)
    assert len(api_a.get(API, {"page_size": 1000}).json()["results"]) == 3
    assert api_a.get(API, {"page": 9}).json()["results"] == []

    response = api_a.get(API, {"page": "two", "page_size": "0"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"page"}
    assert set(api_a.get(API, {"page_size": "-1"}).json()["errors"]) == {"page_size"}


def test_rec4_list_filters_by_email_and_updated_since(api_a, org_a):
    with scopes_disabled():
        old, recent, other = ContactFactory.create_batch(3, org=org_a)
        Contact.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat()

    by_email = api_a.get(API, {"email": recent.email.upper()}).json()
    updated = api_a.get(API, {"updated_since": since}).json()
    both = api_a.get(API, {"updated_since": since, "email": old.email}).json()

    assert [c["id"] for c in by_email["results"]] == [recent.pk]
    assert [c["id"] for c in updated["results"]] == [recent.pk, other.pk]
    assert both["count"] == 0
    wrong = api_a.get(API, {"updated_since": "yesterday"})
    assert wrong.status_code == 400 and set(wrong.json()["errors"]) == {"updated_since"}


def test_rec4_list_runs_the_same_queries_for_5_or_40_contacts(api_a, org_a):
    api_a.get(API)  # the first request of the minute records the token's use
    with scopes_disabled():
        ContactFactory.create_batch(5, org=org_a)
    with CaptureQueriesContext(connection) as few:
        api_a.get(API)
    with scopes_disabled():
        ContactFactory.create_batch(35, org=org_a)
    with CaptureQueriesContext(connection) as many:
        assert len(api_a.get(API).json()["results"]) == 40
    # token, count, page: the custom fields come from the process's registry (REC-1), read
    # by the first request
    assert len(few.captured_queries) == len(many.captured_queries) == 3


# --- errors ---------------------------------------------------------------------------------------


def test_rec4_validation_errors_name_each_field_and_write_nothing(api_a, org_a, custom_fields):
    response = post(
        api_a,
        API,
        {
            "last_name": "Mori",
            "seats": "a dozen",
            "tier": "Platinum",
            "email": "yuki@",
            "shoe_size": 42,
        },
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"seats", "tier", "email", "shoe_size"}
    assert errors["seats"] == ["Seats must be a number."]
    assert errors["tier"] == ["“Platinum” is not one of the choices of Tier."]
    assert errors["email"] == ["“yuki@” is not a valid email address."]
    assert errors["shoe_size"] == ["There is no field shoe_size."]
    assert contacts(org_a) == [] and events(org_a) == []


def test_rec4_wrong_json_types_are_field_errors(api_a, org_a, custom_fields):
    response = post(api_a, API, {"last_name": ["Mori"], "seats": True, "owner": {"id": 1}})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"last_name", "seats", "owner"}
    missing = post(api_a, API, {"first_name": "Yuki", "seats": True}).json()["errors"]
    assert missing == {
        "last_name": ["Last name is required."],
        "seats": ["Seats must be a number."],
    }
    assert contacts(org_a) == []


def test_rec4_patch_with_a_bad_value_changes_nothing(api_a, org_a, custom_fields):
    created = post(api_a, API, {"last_name": "Mori", "seats": 3}).json()
    response = patch(api_a, f"{API}{created['id']}/", {"seats": "three", "last_name": "Ito"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"seats"}
    assert api_a.get(f"{API}{created['id']}/").json() == created
    assert len(events(org_a)) == 1


@pytest.mark.parametrize(
    "body",
    ["{not json", "", "[1, 2]", '"Mori"', b"\xff\xfe\x00", '{"last_name": NaN}', "[" * 100_000],
)
def test_rec4_malformed_json_or_not_an_object_is_400(api_a, org_a, body):
    # the test client drops the content type of an empty body; a real client may not
    json_type = {"headers": {"Content-Type": "application/json"}}
    response = api_a.post(API, body, content_type="application/json", **json_type)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["__all__"]
    assert contacts(org_a) == []


def test_rec4_another_orgs_contact_is_the_same_404_as_a_missing_one(api_a, api_b, org_a, org_b):
    with scopes_disabled():
        theirs = ContactFactory(org=org_b, last_name="Theirs")
    missing = api_a.get(f"{API}987654321/")
    other = api_a.get(f"{API}{theirs.pk}/")
    assert missing.status_code == other.status_code == 404
    assert missing.content == other.content
    assert other.json() == {"error": "Not found."}
    assert patch(api_a, f"{API}{theirs.pk}/", {"last_name": "Mallory"}).status_code == 404
    assert api_b.get(f"{API}{theirs.pk}/").json()["last_name"] == "Theirs"
    assert api_a.get(API).json()["count"] == 0
    assert events(org_b) == []


def test_rec4_unknown_api_path_is_a_json_404(api_a):
    response = api_a.get("/api/v1/deals/")
    assert response.status_code == 404 and response.json() == {"error": "Not found."}


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [("delete", API, "GET, POST"), ("put", f"{API}1/", "GET, PATCH")],
)
def test_rec4_wrong_method_is_405_json(api_a, method, url, allow):
    response = getattr(api_a, method)(url)
    assert response.status_code == 405
    assert response["Allow"] == allow
    assert response.json() == {"error": "Method not allowed."}


# --- authentication and the rate limit ---------------------------------------------------------


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer crm_nope", "Token abc", "Basic dXNlcjpwYXNz"]
)
def test_rec4_missing_or_garbage_token_is_401(org_a, header):
    client = Client(headers={"Authorization": header} if header is not None else {})
    response = client.get(API)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"error"}
    assert post(client, API, {"last_name": "Mori"}).status_code == 401
    assert contacts(org_a) == []


def test_rec4_revoked_token_is_401_at_once(org_a, admin_a):
    token, secret = new_token(org_a, admin_a)
    client = bearer(secret)
    assert client.get(API).status_code == 200
    with scope(org=org_a):
        api_token_revoke(org=org_a, actor=admin_a, token=token)
    response = client.get(API)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_rec4_session_sign_in_is_not_an_api_credential(client_admin_a):
    assert client_admin_a.get(API).status_code == 401


def test_rec4_rate_limit_per_token_answers_429_with_retry_after(
    settings, monkeypatch, org_a, admin_a
):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    # The API's clock stands still in the middle of a minute, so the four requests share one
    # fixed window however slow the machine is.
    frozen = (time.time() // 60) * 60 + 30
    monkeypatch.setattr(records_api, "time", SimpleNamespace(time=lambda: frozen))
    busy = bearer(new_token(org_a, admin_a, "Busy")[1])
    other = bearer(new_token(org_a, admin_a, "Other")[1])

    remaining = [busy.get(API)["X-RateLimit-Remaining"] for _ in range(3)]
    response = busy.get(API)

    assert remaining == ["2", "1", "0"]
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "3" in response.json()["error"]
    assert post(busy, API, {"last_name": "Mori"}).status_code == 429
    assert contacts(org_a) == []
    assert other.get(API).status_code == 200, "the limit is per token"


def test_rec4_api_keeps_taking_records_while_the_cache_is_down(settings, org_a, admin_a):
    """Issue 16 (AUT-8): with Redis unreachable the rate limit counts nothing, and the API
    still stores the record and its event instead of answering 500."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    client = bearer(new_token(org_a, admin_a)[1])

    response = post(client, API, {"last_name": "Mori"})

    assert response.status_code == 201, response.content
    assert [c.last_name for c in contacts(org_a)] == ["Mori"]


def test_rec4_last_used_is_written_at_most_once_a_minute(org_a, admin_a):
    token, secret = new_token(org_a, admin_a)
    client = bearer(secret)
    assert token.last_used_at is None

    client.get(API)
    with scopes_disabled():
        token.refresh_from_db()
        first = token.last_used_at
        assert first is not None
        client.get(API)
        token.refresh_from_db()
        assert token.last_used_at == first
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
        client.get(API)
        token.refresh_from_db()
        assert token.last_used_at > first


def test_rec4_only_admins_create_or_revoke_tokens(org_a, admin_a, member_a, admin_b):
    token, _secret = new_token(org_a, admin_a)
    with scope(org=org_a):
        with pytest.raises(PermissionDenied):
            api_token_create(org=org_a, actor=member_a, name="Mine")
        with pytest.raises(PermissionDenied):
            api_token_create(org=org_a, actor=admin_b, name="Theirs")
        with pytest.raises(PermissionDenied):
            api_token_revoke(org=org_a, actor=member_a, token=token)
    with scope(org=admin_b.org), pytest.raises(PermissionDenied):
        api_token_revoke(org=admin_b.org, actor=admin_b, token=token)
    with scopes_disabled():
        assert ApiToken.objects.count() == 1
        assert ApiToken.objects.get().revoked_at is None


# --- the tokens pages -------------------------------------------------------------------------


def test_rec4_tokens_page_starts_empty_with_a_way_to_create_one(client_admin_a, org_a):
    body = client_admin_a.get(tokens_url(org_a)).content.decode()
    assert "No API tokens yet." in body
    assert f'href="{tokens_url(org_a, "new/")}"' in body


def test_rec4_created_token_is_shown_once_and_stored_only_as_a_hash(client_admin_a, org_a):
    response = client_admin_a.post(tokens_url(org_a, "new/"), {"name": "Web form"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    with scopes_disabled():
        token = ApiToken.objects.get(org=org_a)
    secret = body.split('id="api-token-secret"')[1].split('value="')[1].split('"')[0]
    assert secret.startswith("crm_") and len(secret) == 4 + 43
    assert "You will not be able to see it again" in body
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.token_prefix == secret[:8]
    with scopes_disabled():
        for model in apps.get_models():
            for row in model._base_manager.values():
                assert secret not in str(row), f"the secret is stored in {model._meta.label}"
        entry = AuditLogEntry.objects.get(org=org_a, action="api_token_create")
    assert entry.details == {"name": "Web form", "prefix": secret[:8]}

    listing = client_admin_a.get(tokens_url(org_a)).content.decode()
    assert "Web form" in listing and f"{secret[:8]}…" in listing
    assert secret not in listing
    assert secret not in client_admin_a.get(tokens_url(org_a, "new/")).content.decode()
    assert bearer(secret).get(API).status_code == 200


def test_rec4_token_needs_a_name(client_admin_a, org_a):
    response = client_admin_a.post(tokens_url(org_a, "new/"), {"name": "  "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    with scopes_disabled():
        assert not ApiToken.objects.exists()


def test_rec4_revoke_asks_first_then_the_token_stops_working(client_admin_a, org_a, admin_a):
    token, secret = new_token(org_a, admin_a, "Old sync")
    url = tokens_url(org_a, f"{token.pk}/revoke/")

    confirm = client_admin_a.get(url).content.decode()
    assert "Revoke the token “Old sync”?" in confirm
    assert bearer(secret).get(API).status_code == 200

    response = client_admin_a.post(url)

    assert response.status_code == 302 and response["Location"] == tokens_url(org_a)
    listing = client_admin_a.get(response["Location"]).content.decode()
    assert "The token Old sync was revoked." in listing and "Revoked" in listing
    assert bearer(secret).get(API).status_code == 401
    assert "is revoked" in client_admin_a.get(url).content.decode()


def test_rec4_tokens_list_queries_do_not_grow_with_tokens(client_admin_a, org_a, admin_a):
    for n in range(2):
        new_token(org_a, admin_a, f"T{n}")
    with CaptureQueriesContext(connection) as few:
        client_admin_a.get(tokens_url(org_a))
    for n in range(10):
        new_token(org_a, admin_a, f"U{n}")
    with CaptureQueriesContext(connection) as many:
        body = client_admin_a.get(tokens_url(org_a)).content.decode()
    assert body.count("/revoke/") == 12
    assert len(few.captured_queries) == len(many.captured_queries)


def test_rec4_standard_member_gets_403_on_every_tokens_page(client_member_a, org_a, admin_a):
    token, _secret = new_token(org_a, admin_a)
    revoke = tokens_url(org_a, f"{token.pk}/revoke/")
    for url in (tokens_url(org_a), tokens_url(org_a, "new/"), revoke):
        assert client_member_a.get(url).status_code == 403
    assert client_member_a.post(tokens_url(org_a, "new/"), {"name": "Mine"}).status_code == 403
    assert client_member_a.post(revoke).status_code == 403
    with scopes_disabled():
        assert ApiToken.objects.count() == 1
        assert ApiToken.objects.get().revoked_at is None


def test_rec4_tokens_pages_refuse_the_wrong_method(client_admin_a, org_a, admin_a):
    token, _secret = new_token(org_a, admin_a)
    assert client_admin_a.post(tokens_url(org_a)).status_code == 405
    assert client_admin_a.delete(tokens_url(org_a, f"{token.pk}/revoke/")).status_code == 405


# --- OpenAPI ------------------------------------------------------------------------------------


def test_rec4_openapi_description_is_valid_and_matches_the_contact_json(client, api_a, org_a):
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")

    created = post(api_a, API, {"last_name": "Mori"}).json()
    schema = document["components"]["schemas"]["Contact"]
    assert list(schema["properties"]) == list(created)
    assert set(schema["required"]) == set(created)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    contact_item = document["paths"]["/contacts/{contact_id}/"]
    assert {"200", "401", "404", "405", "429"} <= set(contact_item["get"]["responses"])
    assert {"201", "400", "401", "429"} <= set(document["paths"]["/contacts/"]["post"]["responses"])
    assert "Retry-After" in document["components"]["responses"]["TooManyRequests"]["headers"]
    assert client.post("/api/v1/openapi.json").status_code == 405


def test_rec4_openapi_with_a_token_describes_the_orgs_fields_and_ids(
    client, api_a, org_a, admin_a, custom_fields
):
    """Issue 18: fetched with a token, the description is the organisation's: its custom
    fields are properties (no other key is allowed), owners and accounts are its ids."""
    from openapi_spec_validator import validate

    general = client.get("/api/v1/openapi.json").json()
    response = api_a.get("/api/v1/openapi.json")
    assert "Authorization" in response["Vary"]
    document = response.json()
    validate(document)
    schemas = document["components"]["schemas"]
    body = schemas["ContactInput"]
    assert body["additionalProperties"] is False
    assert general["components"]["schemas"]["ContactInput"]["additionalProperties"] is True
    assert body["properties"]["seats"]["type"] == ["number", "null"]
    assert body["properties"]["tier"]["anyOf"][0]["enum"] == ["Gold", "Silver"]
    assert body["properties"]["vip"]["type"] == ["boolean", "null"]
    assert body["properties"]["first_name"]["maxLength"] == 80  # the model's column
    assert body["properties"]["owner"]["enum"] == [admin_a.pk, None]
    assert body["properties"]["id"]["readOnly"] is True
    assert "seats" in schemas["Contact"]["required"]
    created = post(api_a, API, {"last_name": "Mori"}).json()
    assert list(schemas["Contact"]["properties"]) == list(created)
    assert bearer("crm_revoked").get("/api/v1/openapi.json").status_code == 401


# --- the API does what its description says (issue 18, X-6) ---------------------------------------


@pytest.mark.parametrize(
    "since", ["2591-03-07T02:45:46+21:04", "2026-01-01T00:00:00-16:00", "0086-12-29T09:15:30-18:27"]
)
def test_x6_a_utc_offset_postgresql_cannot_store_is_a_400_naming_the_field(api_a, org_a, since):
    """Found by the fuzzer: an offset beyond ±15:59 reached PostgreSQL and answered 500."""
    response = api_a.get(API, {"updated_since": since})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "updated_since": ["updated_since needs a time zone offset between -15:59 and +15:59."]
    }
    with scopes_disabled():
        CustomField.objects.create(
            org=org_a, module="contacts", key="met", label="Met", field_type="datetime"
        )
    created = post(api_a, API, {"last_name": "Mori", "met": since})
    assert created.status_code == 400
    assert list(created.json()["errors"]) == ["met"]
    assert contacts(org_a) == []


@pytest.mark.parametrize("value", [False, True, 0, 12.5, ["Mori"], {"text": "Mori"}])
def test_x6_a_boolean_or_number_is_never_stored_as_text(api_a, org_a, value):
    """Found by the fuzzer: `"last_name": false` was stored as the text "False"."""
    response = post(api_a, API, {"last_name": value})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["last_name"]
    created = post(api_a, API, {"last_name": "Mori"}).json()
    patched = patch(api_a, f"{API}{created['id']}/", {"first_name": value, "title": "CEO"})
    assert patched.status_code == 400
    assert list(patched.json()["errors"]) == ["first_name"]
    [contact] = contacts(org_a)
    assert (contact.first_name, contact.title) == ("", "")


@pytest.mark.parametrize("name", ["page", "page_size", "email", "updated_since"])
def test_x6_an_empty_query_parameter_is_a_400_naming_it(api_a, name):
    """Found by the fuzzer: `?updated_since=` was quietly ignored, which the description
    (a date-time) does not allow."""
    response = api_a.get(f"{API}?{name}=")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [name]


@pytest.mark.parametrize(
    "params",
    [{"page": "1000001"}, {"page_size": "1000001"}, {"page": "13700726392110"}, {"page": "0"}],
)
def test_x6_a_page_beyond_the_described_maximum_is_a_400_naming_it(api_a, params):
    """The description says page and page_size go from 1 to 1,000,000; so does the server."""
    response = api_a.get(API, params)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        name: ["Give a whole number from 1 to 1,000,000."] for name in params
    }


def test_x6_nul_and_half_surrogates_are_a_400_not_a_500(api_a, org_a, custom_fields):
    """PostgreSQL stores neither in text nor in JSON: both once answered 500."""
    with scopes_disabled():
        CustomField.objects.create(
            org=org_a, module="contacts", key="note", label="Note", field_type="text"
        )
    for body in (
        '{"last_name": "Mo\\u0000ri"}',
        '{"last_name": "\\ud800"}',
        '{"last_name": "Mori", "note": "a\\u0000"}',
    ):
        response = api_a.post(API, body, content_type="application/json")
        assert response.status_code == 400, body
        [errors] = response.json()["errors"].values()
        assert errors[0].endswith("contains characters that cannot be stored.")
    assert contacts(org_a) == []


def test_x6_values_are_spelled_exactly_as_described(api_a, org_a, custom_fields):
    """The description's patterns are the server's: spaces around an email, a slash date or
    a "yes" for a checkbox are refused in JSON (forms and imports are more forgiving)."""
    bodies = {
        "email": " yuki@example.jp",
        "country": "FRA",
        "subscription": "Paid",
        "vip": "yes",
        "seats": "12",
        "owner": "1",
        "first_name": "x" * 81,
    }
    response = post(api_a, API, {"last_name": "Mori", **bodies})
    assert set(response.json()["errors"]) == set(bodies)
    assert response.json()["errors"]["first_name"] == ["First name is longer than 80 characters."]
    good = {"email": "Yuki@Example.JP", "country": "fr", "vip": True, "seats": 0.1 + 0.2}
    created = post(api_a, API, {"last_name": "Mori", **good, "first_name": "x" * 80})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["email"], body["country"], body["vip"]) == ("yuki@example.jp", "FR", True)
    assert body["seats"] == 0.30000000000000004  # a double stays the double it is


def test_x6_a_body_not_sent_as_json_is_a_415(api_a, org_a):
    response = api_a.post(API, '{"last_name": "Mori"}', content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]
    assert contacts(org_a) == []


# --- hostile requests (X-6) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"page": "100000000000000000000"},
        {"page": "-5"},
        {"page_size": "9" * 400},
        {"page": "1e3"},
        {"page": "٣"},  # an Arabic-Indic digit: isdigit() says yes, int() would too
    ],
)
def test_x6_out_of_range_or_odd_page_numbers_are_a_400_naming_the_parameter(api_a, params):
    """X-6: a page number of 21 digits once overflowed the database's offset (500)."""
    response = api_a.get(API, params)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == set(params)


@pytest.mark.parametrize(
    "params",
    [
        {"email": "\x00"},
        {"email": "yuki@example.jp\x00"},
        {"email": "x" * 255},
        {"page": "1\x00"},
        {"page": " 1"},
        {"updated_since": "\x00" * 20},
        {"updated_since": "2026-13-45T99:99"},
        {"updated_since": "2026-12-31"},
        {"updated_since": "2026-12-31T14:30:00"},  # no offset: which time would it be?
    ],
)
def test_x6_nul_bytes_huge_and_odd_filters_are_a_400_naming_the_parameter(api_a, params):
    """X-6: `?email=%00` once reached PostgreSQL and answered 500; later NUL was dropped and
    the filter quietly ignored. A value the description does not allow is now refused."""
    response = api_a.get(API, params)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == set(params)


def test_x6_filters_take_what_the_description_allows(api_a, org_a):
    with scopes_disabled():
        ContactFactory(org=org_a, email="yuki@example.jp")
    assert api_a.get(API, {"email": "Yuki@Example.JP"}).json()["count"] == 1
    assert api_a.get(API, {"email": "x" * 254}).json()["count"] == 0
    assert api_a.get(API, {"updated_since": "2000-01-01T00:00:00+15:59"}).json()["count"] == 1
    assert api_a.get(API, {"updated_since": "2999-01-01T00:00:00.5-15:59"}).json()["count"] == 0
    assert api_a.get(API, {"page": "1000000", "page_size": "1000000"}).status_code == 200


def test_x6_a_body_over_the_limit_is_a_json_413(api_a, org_a, settings):
    """X-6: a body past DATA_UPLOAD_MAX_MEMORY_SIZE gets the API's JSON error, not HTML."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"last_name": "Mori", "title": "x" * 2000})
    response = api_a.post(API, body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "at most 1000 bytes" in response.json()["error"]
    assert contacts(org_a) == []


def test_x6_fifty_thousand_unknown_keys_get_a_short_answer(api_a, org_a):
    """X-6: the error answer names at most 10 unknown keys, each cut to 100 characters."""
    body = {f"no_such_field_{i}": i for i in range(50_000)}
    body["x" * 5000] = 1
    response = api_a.post(API, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(response.content) < 3000
    assert len(errors) == 11 and "50001 fields that do not exist" in errors["__all__"][0]
    assert contacts(org_a) == []


def test_x6_a_few_unknown_keys_are_still_named_with_the_other_errors(api_a, org_a):
    body = {"nickname": "Yu", "email": "not-an-address", "last_name": "Mori"}
    errors = api_a.post(API, body, content_type="application/json").json()["errors"]
    assert set(errors) == {"nickname", "email"}


def test_x6_a_megabyte_value_is_quoted_short_in_its_error(api_a, org_a):
    body = {"last_name": "Mori", "email": "@" * 1_000_000}
    response = api_a.post(API, json.dumps(body), content_type="application/json")
    assert response.status_code in (400, 413)
    assert len(response.content) < 2000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (10**309, "must be between"),
        (1e308, "must be between"),
        ("1e3", "must be a number"),  # a JSON number is a number; a string is not
        (20261231, None),
    ],
)
def test_x6_numbers_are_bounded_and_dates_are_iso_strings(api_a, org_a, value, message):
    """X-6: number fields once stored 310 digits, date fields accepted integers."""
    with scopes_disabled():
        CustomField.objects.create(
            org=org_a, module="contacts", key="seats", label="Seats", field_type="number"
        )
        CustomField.objects.create(
            org=org_a, module="contacts", key="since", label="Since", field_type="date"
        )
    key = "since" if message is None else "seats"
    body = json.dumps({"last_name": "Mori", key: value})
    response = api_a.post(API, body, content_type="application/json")
    assert response.status_code == 400
    [error] = response.json()["errors"][key]
    assert (message or "must be a date") in error
    assert contacts(org_a) == []
