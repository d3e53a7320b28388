"""X-6, as a class: every URL under /o/<org_slug>/ (the tenant walk's list), the JSON API, the
invitation pages and the public pages are walked with hostile query strings and bodies — NUL
bytes, 10 KB strings, huge and negative integers, wrong types, repeated parameters — by an
admin of the org. Not one answer may be a 500."""

import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from records.api import api_token_create
from records.models import Contact
from tests.conftest import client_for
from tests.records.factories import ContactFactory
from tests.tenant_walk import OBJECT_MAKERS, fill, tenant_routes

ROUTES = tenant_routes()

# Every parameter name a page reads, and some it doesn't: the hostile values go to each.
PARAMETER_NAMES = [
    "q",
    "page",
    "page_size",
    "status",
    "sort",
    "country",
    "email",
    "owner",
    "account",
    "subscription",
    "language",
    "module",
    "parent",
    "outcome",
    "locale",
    "date_format",
    "action",
    "actor",
    "target",
    "date_from",
    "date_to",
    "updated_since",
    "next",
    "field",
    "query",
    "users",
    "contacts",
    "move",
    "enabled",
    "all_matching",
    "expected_count",
    # auto-invite and failed invitations (AUT-1 … AUT-7)
    "reason",
    "after",
    "set",
    "common-count",
    "common-pattern",
    "builder",
    "ids",
]
HOSTILE_VALUES = [
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "100000000000000000000",
    "-1",
    "-99999999999999999999999",
    "1e309",
    "٣",
    "[]",
    "{'a': 1}",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "%",
    "\u202e",
]


def hostile_queries(extra_names=()):
    names = PARAMETER_NAMES + list(extra_names)
    for value in HOSTILE_VALUES:
        yield urlencode({name: value for name in names})
    # Repeated parameters and array-style names.
    yield urlencode([(name, v) for name in names for v in ("1", "\x00", "2")])
    yield urlencode({f"{name}[]": "1" for name in names})


def form_field_names(html: str) -> set[str]:
    return set(re.findall(r'name="([\w\-\[\]]+)"', html))


def no_500(client: Client, method: str, url: str, **kwargs) -> list[str]:
    """The request's answer, or the exception it raised, when it is a server error."""
    try:
        response = getattr(client, method)(url, **kwargs)
    except Exception as error:  # noqa: BLE001 - the test reports what any request raised
        return [f"{method.upper()} {url[:120]} raised {type(error).__name__}: {error!s:.200}"]
    if response.status_code >= 500:
        return [f"{method.upper()} {url[:120]} answered {response.status_code}"]
    return []


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Attachments made for the pages (POR-7) go to a temporary directory."""
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.parametrize(("route", "keywords"), ROUTES, ids=[r for r, _ in ROUTES])
def test_x6_tenant_pages_survive_hostile_parameters(route, keywords, org_a, client_admin_a):
    """X-6: GET and POST with hostile values in every parameter the page reads (and in every
    field its form has) answer a page or a 4xx, never a 500."""
    with scopes_disabled():
        values = {k: OBJECT_MAKERS[k](org_a) for k in keywords}
    url = fill(route, {"org_slug": org_a.slug, **values})
    first = client_admin_a.get(url)
    html = b"" if first.streaming else first.content  # a download (POR-7) has no form
    fields = form_field_names(html.decode(errors="replace")) - {"csrfmiddlewaretoken"}
    failures = []
    for query in hostile_queries(fields):
        failures += no_500(client_admin_a, "get", f"{url}?{query}")
    for value in HOSTILE_VALUES:
        body = dict.fromkeys(PARAMETER_NAMES + sorted(fields), value)
        failures += no_500(client_admin_a, "post", url, data=body)
    failures += no_500(client_admin_a, "post", f"{url}?{next(hostile_queries())}", data={})
    assert failures == []


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/healthz",
        "/language/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/invite/continue/",
        "/invite/not-a-token/",
        "/invite/not-a-token/accept/",
        "/invite/not-a-token/signup/",
        "/api/v1/openapi.json",
    ],
)
def test_x6_public_pages_survive_hostile_parameters(path, db):
    """X-6: the pages anyone may open, with hostile queries and bodies."""
    client = Client()
    failures = []
    for query in hostile_queries():
        failures += no_500(client, "get", f"{path}?{query}")
    for value in HOSTILE_VALUES:
        body = dict.fromkeys(PARAMETER_NAMES + ["login", "password", "password1", "token"], value)
        failures += no_500(client, "post", path, data=body)
    assert failures == []


def test_x6_json_api_survives_hostile_parameters(org_a, admin_a):
    """X-6: the JSON API's list and detail, with hostile queries and JSON bodies."""
    with scopes_disabled():
        contact = OBJECT_MAKERS["contact_pk"](org_a)
    _token, secret = api_token_create(org=org_a, actor=admin_a, name="Fuzz")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    failures = []
    for url in ("/api/v1/contacts/", f"/api/v1/contacts/{contact}/"):
        for query in hostile_queries():
            failures += no_500(client, "get", f"{url}?{query}")
        for value in HOSTILE_VALUES + [10**400, -(10**400), 1e308, [], {}, [[[]]], True]:
            body = dict.fromkeys(PARAMETER_NAMES + ["first_name", "last_name"], value)
            method = "post" if url.endswith("contacts/") else "patch"
            failures += no_500(client, method, url, data=body, content_type="application/json")
    assert failures == []


@pytest.mark.parametrize(
    "name", ["autocomplete_members", "autocomplete_accounts", "autocomplete_countries"]
)
def test_x6_issue21_autocomplete_reads_hostile_q_and_page_as_defaults(name, org_a, member_a):
    """X-6, issue 21: a hostile ?page= is the first page and a hostile ?q= is cut and
    searched as text — never a 500, never more than 20 results."""
    client = client_for(member_a)
    url = reverse(name, kwargs={"org_slug": org_a.slug})
    for value in HOSTILE_VALUES:
        response = client.get(url, {"q": value, "page": value})
        assert response.status_code == 200, (name, value)
        found = response.json()
        assert found["page"] == 1 and len(found["results"]) <= 20


def test_x6_issue11_bulk_all_matching_with_hostile_counts_changes_nothing(org_a, admin_a):
    """X-6, issue 11: "all matching" with a count that is not a number, or a query that is
    not a query, is refused with a message; no contact changes."""
    with scopes_disabled():
        ContactFactory.create_batch(2, org=org_a)
    client = client_for(admin_a)
    for value in HOSTILE_VALUES:
        response = client.post(
            reverse("contacts_bulk_update", kwargs={"org_slug": org_a.slug}),
            {
                "field": "subscription",
                "subscription": "paid",
                "all_matching": "1",
                "expected_count": value,
                "query": value,
            },
        )
        assert response.status_code == 302, value
    with scopes_disabled():
        assert not Contact.objects.filter(org=org_a, subscription="paid").exists()
