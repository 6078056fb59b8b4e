"""GET /api/metrics and the per-consumer metrics port, measured around real pipeline runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from core.embedded_nats import free_port
from core.names import names
from notifications.models import ApiKey, Event, Subscriber
from notifications.services import accept_events
from notifications.subscriber_tokens import mint_subscriber_token
from tests.conftest import purge_streams, start_manage, wait_until
from tests.smtp_sink import SmtpSink

EventBody = Callable[..., dict[str, Any]]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(http: httpx.AsyncClient, path: str = "/api/metrics") -> Samples:
    response = await http.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


@sync_to_async
def make_subscriber(user_id: str) -> tuple[str, str]:
    subscriber = Subscriber.objects.create(user_id=user_id, email=f"{user_id}@example.com")
    return ApiKey.issue("metrics")[1], mint_subscriber_token(subscriber)


@pytest.mark.django_db(transaction=True)
async def test_pipeline_run_increments_the_pipeline_metrics(
    pipeline: None, asgi_server: str, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    key, token = await make_subscriber("metrics-user")
    body = event_body(userId="metrics-user", channels=["email", "in_app"], data={"title": "Hi", "body": "x"})
    async with httpx.AsyncClient(base_url=f"http://{asgi_server}", timeout=10) as http:
        before = await scrape(http)
        async with websockets.connect(f"ws://{asgi_server}/ws/inbox/?token={token}") as socket:
            json.loads(await asyncio.wait_for(socket.recv(), 5))
            during = await scrape(http)
            response = await http.post("/api/events", json=body, headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 202
            await asyncio.wait_for(socket.recv(), 20)

        def delta(name: str, **labels: str) -> Callable[[Samples], float]:
            return lambda now: value(now, name, **labels) - value(before, name, **labels)

        sent_email = delta("deliveries_total", channel="email", status="sent")
        sent_in_app = delta("deliveries_total", channel="in_app", status="sent")

        async def settled() -> Samples | None:
            # The socket push precedes the in-app stage's commit and count: wait for both channels.
            now = await scrape(http)
            return now if sent_email(now) == 1 and sent_in_app(now) == 1 else None

        after = await wait_until(settled, timeout=20)

    assert value(during, "active_websocket_connections") == value(before, "active_websocket_connections") + 1
    assert delta("events_received_total", outcome="accepted")(after) == 1
    assert delta("events_processed_total")(after) == 1
    assert delta("deliveries_total", channel="in_app", status="sent")(after) == 1
    assert delta("delivery_duration_seconds_count", channel="email", provider="smtp")(after) == 1
    assert value(after, "jetstream_up") == 1
    ingest = {"stream": names().events_stream, "consumer": "ingest"}
    assert ("jetstream_consumer_num_pending", frozenset(ingest.items())) in after
    assert any(name == "django_http_requests_total_by_method_total" for name, _ in after)
    assert any(name.startswith("django_db_execute") for name, _ in after)


@pytest.mark.django_db
def test_metrics_token_is_required_when_configured(settings: Any, client: Any) -> None:
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/api/metrics").status_code == 401
    assert client.get("/api/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/api/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200
    assert b"events_received_total" in response.content
    assert b'circuit_breaker_state{provider="inbox"} 0.0' in response.content


@pytest.mark.django_db
def test_metrics_answer_when_nats_is_down(settings: Any, client: Any) -> None:
    settings.NATS_URL = f"nats://127.0.0.1:{free_port()}"
    settings.HEALTH_CHECK_TIMEOUT = 1.0
    samples = parse(client.get("/api/metrics").content.decode())
    assert value(samples, "jetstream_up") == 0


@pytest.mark.django_db(transaction=True)
async def test_consumer_process_serves_its_own_metrics_port(
    api_key: str, streams: None, event_body: EventBody
) -> None:
    port = free_port()
    process = start_manage("consume", "ingest", "--metrics-port", str(port))
    try:
        async with httpx.AsyncClient(timeout=5) as http:

            async def processed() -> float:
                try:
                    response = await http.get(f"http://127.0.0.1:{port}/metrics")
                except httpx.TransportError:
                    return 0.0
                return value(parse(response.text), "events_processed_total")

            # The API runs in this process; the consumer's counters are only on its own port.
            assert await sync_to_async(_post_event)(api_key, event_body()) == 202
            assert await wait_until(processed, timeout=30) == 1
    finally:
        process.terminate()
        process.wait(timeout=15)
        await purge_streams(events=False)


def _post_event(api_key: str, body: dict[str, Any]) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return int(client.post("/api/events", body, format="json").status_code)


@pytest.mark.django_db(transaction=True)
async def test_two_replicas_of_a_stage_share_its_consumer_and_count_apart(
    streams: None, event_body: EventBody
) -> None:
    """Two ``consume ingest`` processes on one durable: every event is ingested once, and each
    replica's share is its own ``stage_messages_processed_total`` series."""
    await purge_streams()
    ports = {"ingest-a": free_port(), "ingest-b": free_port()}
    processes = [
        start_manage("consume", "ingest", "--metrics-port", str(port), RELAY_REPLICA_ID=replica)
        for replica, port in ports.items()
    ]
    bodies = [event_body(userId=f"replica-user-{i % 7}", channels=["email"]) for i in range(60)]
    try:
        async with httpx.AsyncClient(timeout=5) as http:

            async def shares() -> dict[str, float] | None:
                """Each replica's count, or None while a port does not answer yet."""
                found = {}
                for replica, port in ports.items():
                    try:
                        samples = parse((await http.get(f"http://127.0.0.1:{port}/metrics")).text)
                    except httpx.TransportError:
                        return None
                    found[replica] = value(
                        samples, "stage_messages_processed_total", stage="ingest", replica=replica
                    )
                return found

            async def all_handled() -> dict[str, float] | None:
                found = await shares()
                return found if found and sum(found.values()) >= len(bodies) else None

            await wait_until(shares, timeout=30)
            accepted = await sync_to_async(accept_events)(bodies)
            assert {a.outcome for a in accepted} == {"accepted"}
            handled = await wait_until(all_handled, timeout=60)
        assert handled is not None and sum(handled.values()) == len(bodies)
        stored = await sync_to_async(
            Event.objects.filter(event_id__in=[b["eventId"] for b in bodies]).count
        )()
        assert stored == len(bodies)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
        await purge_streams()
