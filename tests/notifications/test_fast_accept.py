"""POST /api/events through the real ASGI app: the loop's fast path answers like the DRF view,
and everything out of the ordinary is left to Django (notifications/fast_accept.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from prometheus_client import REGISTRY

from core.embedded_nats import free_port
from notifications.event_lookup import LOOKUP_APPLICATION_NAME
from notifications.models import ApiKey
from tests.conftest import events_in_stream
from tests.factories import EventFactory

EventBody = Callable[..., dict[str, Any]]
# A query string sends the same request through Django's request cycle instead.
THROUGH_DJANGO = "/api/events?via=django"


def fast_path(outcome: str) -> float:
    return REGISTRY.get_sample_value("api_fast_accept_requests_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def raw_key(transactional_db: None) -> str:
    return ApiKey.issue("fast")[1]


@pytest.fixture
async def http(asgi_server: str, raw_key: str, streams: None) -> Any:
    headers = {"Authorization": f"Bearer {raw_key}"}
    async with httpx.AsyncClient(base_url=f"http://{asgi_server}", headers=headers) as client:
        # The first request of a key is Django's: it verifies the key, which the fast path then
        # knows for RELAY_API_KEY_CACHE_SECONDS.
        warm_up = await client.post(THROUGH_DJANGO, json={"eventId": "x"})
        assert warm_up.status_code == 400
        yield client


def answer(response: httpx.Response) -> tuple[int, Any, set[str]]:
    """Status, body and header names: what a client can tell apart."""
    return response.status_code, response.json(), set(response.headers) - {"date"}


async def test_ordinary_event_is_answered_on_the_loop_as_the_view_answers(
    http: httpx.AsyncClient, event_body: EventBody
) -> None:
    body, stored = event_body(), await events_in_stream()
    answered = fast_path("answered")

    first = await http.post("/api/events", json=body)
    assert first.status_code == 202, first.text
    assert first.json() == {"eventId": body["eventId"], "status": "accepted"}
    assert await events_in_stream() == stored + 1
    assert fast_path("answered") == answered + 1

    duplicate = await http.post("/api/events", json=body)
    assert answer(duplicate) == answer(await http.post(THROUGH_DJANGO, json=body))
    assert duplicate.json()["duplicate"] is True

    other = {**body, "data": {"userName": "Jane"}}
    conflict = await http.post("/api/events", json=other)
    assert conflict.status_code == 409
    assert answer(conflict) == answer(await http.post(THROUGH_DJANGO, json=other))
    assert fast_path("answered") == answered + 3
    assert await events_in_stream() == stored + 1
    assert conflict.headers["x-request-id"] != duplicate.headers["x-request-id"]


async def test_accepted_answers_carry_the_views_headers(
    http: httpx.AsyncClient, event_body: EventBody
) -> None:
    fast = await http.post("/api/events", json=event_body(), headers={"X-Request-ID": "trace-1"})
    slow = await http.post(THROUGH_DJANGO, json=event_body())
    assert (fast.status_code, slow.status_code) == (202, 202)
    assert answer(fast)[2] == answer(slow)[2]
    assert fast.headers["x-request-id"] == "trace-1"


async def test_database_lookup_still_finds_events_the_cache_forgot(
    http: httpx.AsyncClient, event_body: EventBody
) -> None:
    body = event_body()
    await sync_to_async(EventFactory)(event_id=body["eventId"], fingerprint="0" * 64)
    response = await http.post("/api/events", json=body)
    assert response.status_code == 409
    assert response.json()["existingFingerprint"] == "0" * 64


@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        ({"json": {"eventId": "no type"}}, 400),
        ({"content": b'{"eventId": ', "headers": {"Content-Type": "application/json"}}, 400),
        ({"content": b"eventId=x", "headers": {"Content-Type": "text/plain"}}, 415),
        ({"json": "EVENT", "headers": {"Accept": "text/html"}}, 406),
        ({"json": "EVENT", "headers": {"Authorization": "Bearer rk_nope_nope"}}, 401),
        ({"json": "EVENT", "headers": {"Authorization": ""}}, 401),
        ({"json": "EVENT", "headers": {"Authorization": "READER"}}, 403),
        ({"json": {"blob": "x" * 70_000}}, 413),
    ],
)
async def test_anything_unusual_is_left_to_django(
    http: httpx.AsyncClient, event_body: EventBody, request_kwargs: dict[str, Any], status: int
) -> None:
    reader = (await sync_to_async(ApiKey.issue)("reader", ["read"]))[1]
    kwargs = {**request_kwargs}
    if kwargs.get("json") == "EVENT":
        kwargs["json"] = event_body()
    if kwargs.get("json", {}).get("blob"):
        kwargs["json"] = event_body(data=kwargs["json"])
    if kwargs.get("headers", {}).get("Authorization") == "READER":
        kwargs["headers"] = {"Authorization": f"Bearer {reader}"}
    declined, answered, stored = fast_path("declined"), fast_path("answered"), await events_in_stream()

    response = await http.post("/api/events", **kwargs)

    assert response.status_code == status, response.text
    assert fast_path("declined") == declined + 1
    assert fast_path("answered") == answered
    assert await events_in_stream() == stored


async def test_a_key_over_its_rate_gets_djangos_429(
    http: httpx.AsyncClient, event_body: EventBody, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "api_key": "2/h"},
    }
    codes = [(await http.post("/api/events", json=event_body())).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    body = event_body()
    refused = await http.post("/api/events", json=body)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0

    # The fast path counts and claims in one round trip: a refused request's id is not kept.
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "api_key": "100/h"},
    }
    assert (await http.post("/api/events", json=body)).status_code == 202


async def test_nats_unreachable_is_a_503_and_the_retry_is_accepted(
    http: httpx.AsyncClient, event_body: EventBody, settings: Any
) -> None:
    body, reachable = event_body(), settings.NATS_URL
    settings.NATS_URL = f"nats://127.0.0.1:{free_port()}"
    answered = fast_path("answered")
    refused = await http.post("/api/events", json=body)
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) == settings.RELAY_RETRY_AFTER_SECONDS
    assert "retry later" in refused.json()["detail"]
    assert fast_path("answered") == answered + 1

    settings.NATS_URL = reachable
    retry = await http.post("/api/events", json=body)
    assert retry.status_code == 202, "a 503 must not leave the eventId claimed"


async def test_a_lookup_connection_the_database_dropped_is_replaced(
    http: httpx.AsyncClient, event_body: EventBody
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the lookup has its own connection on PostgreSQL only")
    assert (await http.post("/api/events", json=event_body())).status_code == 202

    @sync_to_async
    def terminate_lookup_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                [LOOKUP_APPLICATION_NAME],
            )
            return int(cursor.fetchone()[0])

    assert await terminate_lookup_connections() == 1
    answered = fast_path("answered")
    assert (await http.post("/api/events", json=event_body())).status_code == 202
    assert fast_path("answered") == answered + 1
