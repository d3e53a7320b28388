"""The tenant walk (DESIGN: Tenancy): every page and object under /o/<org_slug>/ answers 404
to a member of another org — with org A's address or with their own — and a POST from them
changes nothing of org A. Later issues' URLs are picked up automatically."""

import pytest
from django.forms.models import model_to_dict
from django_scopes import scopes_disabled

from tests.tenant_walk import (
    HOSTILE_POST,
    OBJECT_MAKERS,
    PLAIN_KEYWORDS,
    fill,
    tenant_models,
    tenant_routes,
)

ROUTES = tenant_routes()


def snapshot(org):
    with scopes_disabled():
        data = {"org": model_to_dict(type(org).objects.get(pk=org.pk))}
        for model in tenant_models():
            rows = model.objects.filter(org=org).order_by("pk")
            data[model._meta.label] = [model_to_dict(r) for r in rows]
    return data


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Attachments made for the walk (POR-7) go to a temporary directory."""
    settings.MEDIA_ROOT = tmp_path


def objects_of(org, keywords):
    missing = [k for k in keywords if k not in OBJECT_MAKERS]
    assert not missing, f"Register a maker for URL keyword(s) {missing} in tests/tenant_walk.py"
    with scopes_disabled():
        return {k: OBJECT_MAKERS[k](org) for k in keywords}


def test_walk_finds_the_tenant_pages():
    routes = [route for route, _ in ROUTES]
    assert "o/<slug:org_slug>/" in routes
    assert "o/<slug:org_slug>/contacts/<int:contact_pk>/edit/" in routes
    # The organisation settings and its sections (ORG-7, X-3; issue 11)
    assert "o/<slug:org_slug>/settings/" in routes
    assert "o/<slug:org_slug>/settings/super-admin/" in routes
    # The bounded pickers' searches (issue 21) are walked like every page.
    for kind in ("members", "accounts", "territories", "countries"):
        assert f"o/<slug:org_slug>/autocomplete/{kind}/" in routes


@pytest.mark.parametrize(("route", "keywords"), ROUTES, ids=[r for r, _ in ROUTES])
def test_tenant_walk_outsider_gets_404_and_changes_nothing(
    route, keywords, org_a, admin_a, org_b, client_admin_a, client_admin_b
):
    values = objects_of(org_a, keywords)
    url_a = fill(route, {"org_slug": org_a.slug, **values})
    url_b = fill(route, {"org_slug": org_b.slug, **values})

    assert client_admin_a.get(url_a).status_code != 404, "the walk must test a real page"

    before = snapshot(org_a)
    assert client_admin_b.get(url_a).status_code == 404
    assert client_admin_b.post(url_a, HOSTILE_POST).status_code == 404
    object_keywords = [k for k in keywords if k not in PLAIN_KEYWORDS]
    if object_keywords:  # org A's object through org B's own address: same as no object
        nowhere = fill(
            route, {"org_slug": org_b.slug, **values, **dict.fromkeys(object_keywords, 987654321)}
        )
        for method, data in (("get", None), ("post", HOSTILE_POST)):
            status = getattr(client_admin_b, method)(url_b, data).status_code
            assert status in (404, 405)  # 405: refused by method before any lookup
            assert status == getattr(client_admin_b, method)(nowhere, data).status_code
    assert snapshot(org_a) == before


@pytest.mark.parametrize(("route", "keywords"), ROUTES, ids=[r for r, _ in ROUTES])
def test_tenant_walk_anonymous_is_sent_to_sign_in(route, keywords, org_a, client):
    url = fill(route, {"org_slug": org_a.slug, **objects_of(org_a, keywords)})
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(("route", "keywords"), ROUTES, ids=[r for r, _ in ROUTES])
def test_tenant_walk_deactivated_member_gets_404(route, keywords, org_a, admin_a, member_a):
    from tests.conftest import client_for

    url = fill(route, {"org_slug": org_a.slug, **objects_of(org_a, keywords)})
    client = client_for(member_a)
    with scopes_disabled():
        member_a.status = "deactivated"
        member_a.save()
    assert client.get(url).status_code == 404


def test_unknown_org_and_missing_object_look_the_same(client_admin_b, org_a):
    assert client_admin_b.get("/o/no-such-org/").status_code == 404
    assert client_admin_b.get(f"/o/{org_a.slug}/").status_code == 404
