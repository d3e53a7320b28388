"""The JSON API as an integration uses it (REC-4), and the events it records (REC-3): per-org
tokens stored as hashes, contacts created, read, listed and patched, errors as JSON, the rate
limit, the admin pages for tokens and the OpenAPI description."""

import hashlib
import json
import time
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled

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
    assert set(response.json()["errors"]) == {"last_name", "owner"}
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
    response = api_a.post(API, body, content_type="application/json")
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


def test_rec4_rate_limit_per_token_answers_429_with_retry_after(settings, org_a, admin_a):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    if time.time() % 60 > 55:  # keep the four requests in one fixed window
        time.sleep(60 - time.time() % 60 + 0.1)
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
