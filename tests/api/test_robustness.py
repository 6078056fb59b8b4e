"""Whatever a client sends, a clear 4xx: malformed JSON, wrong types, huge strings, unknown
fields, NUL characters, oversized bodies, and URLs that match nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connection
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db]


def _post(api: APIClient, body: str | bytes) -> Any:
    return api.generic("POST", "/api/events", body, content_type="application/json")


def test_malformed_json_is_a_400_naming_the_body(api: APIClient) -> None:
    response = _post(api, '{"eventId": "x", ')
    assert response.status_code == 400
    assert "body" in response.json()["errors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("eventId", True), ("channels", "email"), ("data", ["not", "an", "object"]), ("priority", {"a": 1})],
)
def test_wrong_types_are_a_400_naming_the_field(
    api: APIClient, event_body: Callable[..., dict[str, Any]], field: str, value: Any
) -> None:
    response = _post(api, json.dumps(event_body(**{field: value})))
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_huge_string_within_the_body_limit_is_a_400(
    api: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    response = _post(api, json.dumps(event_body(eventId="e" * 10_000)))
    assert response.status_code == 400
    assert "eventId" in response.json()["errors"]


def test_a_body_over_the_limit_is_a_413(api: APIClient, event_body: Callable[..., dict[str, Any]]) -> None:
    response = _post(api, json.dumps(event_body(data={"blob": "x" * 70_000})))
    assert response.status_code == 413


def test_unknown_fields_are_a_400(api: APIClient, event_body: Callable[..., dict[str, Any]]) -> None:
    response = _post(api, json.dumps({**event_body(), "recipient": "someone"}))
    assert response.status_code == 400
    assert "recipient" in response.json()["errors"]


def test_nul_characters_are_a_400_not_a_database_error(
    api: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    assert _post(api, json.dumps(event_body(data={"name": "a\x00b"}))).status_code == 400
    response = api.get("/api/deliveries", {"userId": "a\x00b"})
    assert response.status_code == 400
    assert "query" in response.json()["errors"]


def test_an_api_url_that_matches_nothing_is_a_json_404(api: APIClient) -> None:
    response = api.get("/api/deliveries/not-a-number")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_is_a_503_with_retry_after(api: APIClient) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with psycopg.connect(_dsn(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    try:
        response = api.get("/api/deliveries")
    finally:
        connection.close()  # the next test gets a fresh connection
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json() == {"detail": "The database is unavailable; retry later."}


def _dsn() -> str:
    db = connection.settings_dict
    return f"host={db['HOST']} port={db['PORT'] or 5432} user={db['USER']} dbname={db['NAME']}"
