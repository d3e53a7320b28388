"""Issue 11, bug 4: a 404 and a 403 are pages of the app — its shell, a sentence saying what
happened, a way back — in the viewer's language; /favicon.ico leads to the icon."""

import json

from django.contrib.staticfiles import finders
from django.urls import reverse


def test_404_is_a_styled_page_with_a_way_back(client_admin_a):
    response = client_admin_a.get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert 'class="topbar"' in body and "css/app.css" in body  # the app's shell
    assert "Page not found" in body and f'href="{reverse("home")}"' in body


def test_404_for_another_orgs_pages_is_the_same_page(client_admin_b, org_a):
    response = client_admin_b.get(reverse("user_list", kwargs={"org_slug": org_a.slug}))
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_403_is_a_styled_page_that_says_why(client_member_a, org_a):
    response = client_member_a.get(reverse("user_list", kwargs={"org_slug": org_a.slug}))
    body = response.content.decode()
    assert response.status_code == 403
    assert 'class="topbar"' in body
    assert "You are not allowed to do this" in body and f'href="{reverse("home")}"' in body


def test_x1_error_pages_speak_the_viewers_language(client_member_a, org_a):
    member = client_member_a
    member.post(reverse("language_set"), {"language": "ja", "next": "/"})
    body = member.get(reverse("user_list", kwargs={"org_slug": org_a.slug})).content.decode()
    assert "You are not allowed to do this" not in body


def test_favicon_ico_leads_to_the_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
    assert finders.find("favicon.svg")


def test_issue17_a_404_and_a_403_are_logged_as_one_line_without_a_traceback(
    client_admin_a, client_member_a, org_a, caplog
):
    """The console shows "Not Found: /path" and "Forbidden (Permission denied): /path", one line
    each — no traceback of the Http404 or PermissionDenied behind them."""
    caplog.set_level("WARNING", logger="django.request")
    client_admin_a.get("/no-such-page/")
    client_member_a.get(reverse("user_list", kwargs={"org_slug": org_a.slug}))
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.status_code for r in records] == [404, 403]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records)
    assert "Traceback" not in caplog.text


def _answer_to(path, error):
    from django.test import RequestFactory

    from crm_portal.views import server_error

    request = RequestFactory().get(path)
    try:
        raise error
    except Exception:
        return server_error(request)


def test_issue16_database_gone_answers_503_with_retry_after_not_500():
    """Issue 16 drill: while PostgreSQL restarts a request answers 503 with Retry-After — a
    JSON body under /api/, a page that needs no database elsewhere; other errors stay 500."""
    from django.db import OperationalError

    api = _answer_to("/api/v1/contacts/", OperationalError("server closed the connection"))
    page = _answer_to("/o/acme/contacts/", OperationalError("connection refused"))
    bug = _answer_to("/o/acme/contacts/", ZeroDivisionError())

    assert api.status_code == 503 and api["Retry-After"] == "30"
    assert "briefly unavailable" in json.loads(api.content)["error"]
    assert page.status_code == 503 and "Briefly unavailable" in page.content.decode()
    assert bug.status_code == 500 and not bug.has_header("Retry-After")
    assert "Something went wrong" in bug.content.decode()
