"""/healthz: 200 when the database and the broker answer, 503 naming what does not."""

import pytest
from django.db import OperationalError

from crm_portal.celery import app as celery_app


@pytest.mark.services
def test_healthz_ok_when_database_and_broker_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("database", "broker", "status")} == {
        "database": "ok",
        "broker": "ok",
        "status": "ok",
    }
    assert body["outbox"] == {
        "status": "ok",
        "pending": 0,
        "oldest_pending_seconds": 0.0,
        "failed": 0,
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_503_names_the_broker_when_it_is_down(client, db, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == "unavailable" and body["database"] == "ok"
    assert body["status"] == "failing: broker"


def test_healthz_503_names_the_database_when_it_is_down(client, db, monkeypatch):
    class UnreachableDatabase:  # stands in for PostgreSQL refusing connections
        def cursor(self):
            raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")

    monkeypatch.setattr("crm_portal.views.connection", UnreachableDatabase())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
    assert response.json()["status"] == "failing: database"


def test_healthz_answers_plain_http_even_when_ssl_redirect_is_on(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 301
