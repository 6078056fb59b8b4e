"""POST /api/events and /api/events/batch: the contract of API.md, against real NATS.

Most tests use DRF's test client; the ASGI test sends the same requests through the server
the API runs under, to show that every one takes the middleware stack and the DRF view."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_started
from django.urls import resolve
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from core.embedded_nats import free_port
from notifications.models import ApiKey, Event
from tests.conftest import events_in_stream
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db

EventBody = Callable[..., dict[str, Any]]


def stream_messages() -> int:
    return asyncio.run(events_in_stream())


def test_api_md_example_body_is_accepted_as_is(api: APIClient) -> None:
    body = {
        "eventId": "evt_123",
        "eventType": "account",
        "userId": "user_123",
        "channels": ["email", "push"],
        "priority": "high",
        "data": {"userName": "John Doe", "actionUrl": "https://example.com/verify"},
    }
    body["eventId"] = f"evt_123_{settings.RELAY_NATS_PREFIX}"
    before = stream_messages()
    response = api.post("/api/events", body, format="json")
    assert response.status_code == 202, response.content
    assert response.json() == {"eventId": body["eventId"], "status": "accepted"}
    assert stream_messages() == before + 1


def test_x_api_key_header_is_accepted(api_key: str, streams: None, event_body: EventBody) -> None:
    client = APIClient()
    response = client.post("/api/events", event_body(), format="json", HTTP_X_API_KEY=api_key)
    assert response.status_code == 202


def test_same_event_id_same_body_is_a_duplicate(api: APIClient, event_body: EventBody) -> None:
    body = event_body()
    assert api.post("/api/events", body, format="json").status_code == 202
    again = api.post("/api/events", body, format="json")
    assert again.status_code == 200
    assert again.json() == {"eventId": body["eventId"], "status": "accepted", "duplicate": True}


def test_same_event_id_with_other_body_is_a_conflict(api: APIClient, event_body: EventBody) -> None:
    body = event_body()
    assert api.post("/api/events", body, format="json").status_code == 202
    before = stream_messages()
    other = api.post("/api/events", {**body, "data": {"userName": "Jane"}}, format="json")
    assert other.status_code == 409
    detail = other.json()
    assert detail["existingFingerprint"] != detail["requestFingerprint"]
    assert len(detail["existingFingerprint"]) == 64
    assert stream_messages() == before


def test_duplicate_is_recognised_from_the_database_after_the_cache_forgets(
    api: APIClient, event_body: EventBody
) -> None:
    from django.core.cache import cache

    body = event_body()
    EventFactory(event_id=body["eventId"], fingerprint="0" * 64)
    cache.clear()
    response = api.post("/api/events", body, format="json")
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"eventId": None}, "eventId"),
        ({"eventId": ""}, "eventId"),
        ({"eventId": "x" * 129}, "eventId"),
        ({"eventId": "has space"}, "eventId"),
        ({"eventType": None}, "eventType"),
        ({"eventType": "bad type*"}, "eventType"),
        ({"channels": []}, "channels"),
        ({"channels": ["fax"]}, "channels"),
        ({"channels": ["email", "email"]}, "channels"),
        ({"channels": "email"}, "channels"),
        ({"priority": "critical"}, "priority"),
        ({"data": ["not", "an", "object"]}, "data"),
        ({"userId": None}, "userId"),
        ({"topic": "everyone"}, "topic"),
        ({"scheduledAt": "2001-01-01T00:00:00Z"}, "scheduledAt"),
        ({"scheduledAt": "next tuesday"}, "scheduledAt"),
        ({"locale": "not a locale"}, "locale"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_event_is_rejected_with_field_errors_and_nothing_stored(
    api: APIClient, event_body: EventBody, change: dict[str, Any], field: str
) -> None:
    body = {**event_body(), **change}
    body = {k: v for k, v in body.items() if v is not None}
    before = stream_messages()
    response = api.post("/api/events", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert stream_messages() == before


def test_malformed_json_is_a_400(api: APIClient) -> None:
    response = api.post("/api/events", b'{"eventId": ', content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.json()["errors"]


def test_body_over_64_kib_is_a_413(api: APIClient, event_body: EventBody) -> None:
    before = stream_messages()
    response = api.post("/api/events", event_body(data={"blob": "x" * 70_000}), format="json")
    assert response.status_code == 413
    assert stream_messages() == before


@pytest.mark.parametrize("header", [None, "Bearer rk_nope_nope", "Basic abc"])
def test_missing_or_wrong_key_is_a_401(streams: None, event_body: EventBody, header: str | None) -> None:
    client = APIClient()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post("/api/events", event_body(), format="json", **extra)
    assert response.status_code == 401


def test_revoked_key_is_a_401(streams: None, event_body: EventBody) -> None:
    key, raw = ApiKey.issue("old")
    key.revoke()
    response = APIClient().post(
        "/api/events", event_body(), format="json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 401


def test_key_without_the_scope_is_a_403(streams: None, event_body: EventBody) -> None:
    _, raw = ApiKey.issue("reader", ["read"])
    response = APIClient().post(
        "/api/events", event_body(), format="json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 403


def test_nats_unreachable_is_a_503_with_retry_after_and_a_retry_later_succeeds(
    api: APIClient, event_body: EventBody, settings: Any
) -> None:
    body = event_body()
    reachable = settings.NATS_URL
    settings.NATS_URL = f"nats://127.0.0.1:{free_port()}"
    response = api.post("/api/events", body, format="json")
    assert response.status_code == 503
    assert int(response["Retry-After"]) == settings.RELAY_RETRY_AFTER_SECONDS
    assert "retry later" in response.json()["detail"]
    assert not Event.objects.filter(event_id=body["eventId"]).exists()

    settings.NATS_URL = reachable
    retry = api.post("/api/events", body, format="json")
    assert retry.status_code == 202, "a 503 must not leave the eventId claimed"


def test_other_media_types_are_refused_and_nothing_stored(api: APIClient, event_body: EventBody) -> None:
    before = stream_messages()
    assert api.post("/api/events", b"eventId=x", content_type="text/plain").status_code == 415
    not_json = api.post("/api/events", event_body(), format="json", HTTP_ACCEPT="text/html")
    assert not_json.status_code == 406
    assert stream_messages() == before


def set_api_key_rate(settings: Any, rate: str) -> dict[str, str]:
    """The API keys' rate for this test (read on every request); returns the rates before."""
    rates: dict[str, str] = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "api_key": rate},
    }
    return rates


def test_a_key_over_its_rate_gets_a_429_with_retry_after_and_its_event_id_stays_free(
    api: APIClient, event_body: EventBody, settings: Any
) -> None:
    rates = set_api_key_rate(settings, "2/h")
    codes = [api.post("/api/events", event_body(), format="json").status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    body, before = event_body(), stream_messages()
    refused = api.post("/api/events", body, format="json")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert stream_messages() == before

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    assert api.post("/api/events", body, format="json").status_code == 202, "a 429 claims nothing"


@pytest.mark.skipif(not hasattr(cache, "ttl"), reason="needs the Redis cache (window expiry)")
def test_a_rate_windows_counter_counts_each_request_and_expires_with_its_window(
    api: APIClient, event_body: EventBody, settings: Any
) -> None:
    set_api_key_rate(settings, "50/m")
    for _ in range(3):
        assert api.post("/api/events", event_body(), format="json").status_code == 202
    key_pk = ApiKey.objects.latest("pk").pk  # the api fixture's (other tests' counters may be there)
    (key,) = cache.keys(f"throttle:api_key:{key_pk}:*")
    assert cache.get(key) == 3
    assert 0 < cache.ttl(key) <= 61  # gone after its window (+1 s): counters never pile up


def requests_counted_by_middleware(path: str) -> float:
    """django-prometheus's per-view count: only requests that went through the middleware."""
    labels = {"view": resolve(path).view_name, "transport": "http", "method": "POST"}
    return (
        REGISTRY.get_sample_value("django_http_requests_total_by_view_transport_method_total", labels) or 0.0
    )


@pytest.mark.django_db(transaction=True)
async def test_every_event_post_through_the_asgi_server_takes_the_middleware_and_the_view(
    asgi_server: str, streams: None, event_body: EventBody
) -> None:
    raw_key = (await sync_to_async(ApiKey.issue)("asgi"))[1]
    singles = requests_counted_by_middleware("/api/events")
    batches = requests_counted_by_middleware("/api/events/batch")
    started: list[object] = []

    def count(sender: object, **kwargs: Any) -> None:
        started.append(sender)

    body = event_body()
    request_started.connect(count)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://{asgi_server}", headers={"Authorization": f"Bearer {raw_key}"}
        ) as http:
            answers = [
                await http.post("/api/events", json=body, headers={"X-Request-ID": "trace-1"}),
                await http.post("/api/events", json=body),
                await http.post("/api/events", json={**body, "data": {"userName": "Jane"}}),
                await http.post("/api/events", json={"eventId": "no type"}),
                await http.post("/api/events/batch", json={"events": [event_body()]}),
            ]
    finally:
        request_started.disconnect(count)
    assert [answer.status_code for answer in answers] == [202, 200, 409, 400, 200]
    assert len(started) == len(answers), "each request went through Django's request cycle"
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == settings.X_FRAME_OPTIONS
        assert answer.headers["referrer-policy"] == settings.SECURE_REFERRER_POLICY
        assert answer.headers["cross-origin-opener-policy"] == settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
    assert answers[0].headers["x-request-id"] == "trace-1"
    assert len({answer.headers["x-request-id"] for answer in answers}) == len(answers)
    assert requests_counted_by_middleware("/api/events") == singles + 4
    assert requests_counted_by_middleware("/api/events/batch") == batches + 1


def test_batch_reports_each_item(api: APIClient, event_body: EventBody) -> None:
    good, duplicate = event_body(), event_body()
    assert api.post("/api/events", duplicate, format="json").status_code == 202
    bad = event_body(channels=["fax"])
    conflict = {**duplicate, "priority": "low"}
    response = api.post("/api/events/batch", {"events": [good, bad, duplicate, conflict]}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["code"] for r in results] == [202, 400, 200, 409]
    assert results[1]["errors"]["channels"]
    assert results[2]["duplicate"] is True
    assert response.json()["accepted"] == 2


def test_batch_of_500_is_accepted_and_501_refused(api: APIClient, event_body: EventBody) -> None:
    events = [event_body() for _ in range(500)]
    response = api.post("/api/events/batch", {"events": events}, format="json")
    assert response.status_code == 200
    assert response.json()["accepted"] == 500
    too_many = api.post("/api/events/batch", {"events": [*events, event_body()]}, format="json")
    assert too_many.status_code == 400
    assert "events" in too_many.json()["errors"]


def test_an_event_id_twice_in_one_batch_is_stored_once(api: APIClient, event_body: EventBody) -> None:
    first = event_body()
    before = stream_messages()
    events = [first, first, {**first, "priority": "low"}]
    results = api.post("/api/events/batch", {"events": events}, format="json").json()["results"]
    assert [(item["code"], item.get("duplicate")) for item in results] == [
        (202, None),
        (200, True),
        (409, None),
    ]
    assert results[2]["existingFingerprint"] != results[2]["requestFingerprint"]
    assert stream_messages() == before + 1


def test_a_batch_item_that_is_not_an_object_fails_the_request(api: APIClient, event_body: EventBody) -> None:
    before = stream_messages()
    response = api.post(
        "/api/events/batch", {"events": [event_body(), ["not", "an", "event"]]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["events"] == {
        "1": ['Expected a dictionary of items but got type "list".']
    }
    assert stream_messages() == before


def test_batch_resent_after_the_cache_forgets_is_told_duplicate_by_jetstream(
    api: APIClient, event_body: EventBody
) -> None:
    from django.core.cache import cache

    events = [event_body() for _ in range(20)]
    first = api.post("/api/events/batch", {"events": events}, format="json").json()
    assert [item["code"] for item in first["results"]] == [202] * 20
    before = stream_messages()
    cache.clear()  # neither the cache nor the Event table (no ingest here) knows them now
    again = api.post("/api/events/batch", {"events": events}, format="json").json()
    assert [(item["code"], item.get("duplicate")) for item in again["results"]] == [(200, True)] * 20
    assert again["accepted"] == 20
    assert stream_messages() == before


def test_batch_with_nats_unreachable_answers_503_per_item_and_a_retry_is_accepted(
    api: APIClient, event_body: EventBody, settings: Any
) -> None:
    events = [event_body() for _ in range(5)]
    reachable = settings.NATS_URL
    settings.NATS_URL = f"nats://127.0.0.1:{free_port()}"
    response = api.post("/api/events/batch", {"events": events}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (0, 5)
    for item in body["results"]:
        assert (item["code"], item["status"]) == (503, "unavailable")
        assert item["retryAfter"] == settings.RELAY_RETRY_AFTER_SECONDS

    settings.NATS_URL = reachable
    before = stream_messages()
    retry = api.post("/api/events/batch", {"events": events}, format="json").json()
    assert [item["code"] for item in retry["results"]] == [202] * 5, "a 503 must not leave ids claimed"
    assert stream_messages() == before + 5


def test_get_unknown_event_is_a_404(api: APIClient) -> None:
    assert api.get("/api/events/nope").status_code == 404


def test_accepted_event_not_yet_ingested_reads_back_as_accepted(
    api: APIClient, event_body: EventBody
) -> None:
    body = event_body()
    api.post("/api/events", body, format="json")
    response = api.get(f"/api/events/{body['eventId']}")
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"


def test_openapi_schema_is_served(client: Any) -> None:
    response = client.get("/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/events" in schema["paths"]
