"""Ingest routes the events sent to one user itself; topic members still go through route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import nats
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from core.names import names
from deliveries.models import Delivery, DeliveryStatus
from notifications.models import Notification, Subscriber, Topic, TopicMembership
from notifications.services import canonical_body, event_message, fingerprint_of
from realtime.models import InboxMessage
from tests.conftest import purge_streams, running_stages, wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]


@pytest.fixture
async def clean_streams(transactional_db: None, streams: None) -> Any:
    await purge_streams()
    yield
    await purge_streams()


@sync_to_async
def delivery_statuses(event_id: str) -> list[str]:
    return list(
        Delivery.objects.filter(notification__event__event_id=event_id).values_list("status", flat=True)
    )


@sync_to_async
def notifications_of(event_id: str) -> int:
    return Notification.objects.filter(event__event_id=event_id).count()


async def post_event(server: str, api_key: str, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=f"http://{server}") as http:
        response = await http.post("/api/events", json=body, headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 202, response.text


async def test_a_direct_event_is_delivered_with_no_route_worker_running(
    clean_streams: None, asgi_server: str, api_key: str, event_body: EventBody
) -> None:
    body = event_body(userId="direct-user", channels=["in_app"], data={"title": "Hi", "body": "There"})
    async with running_stages("ingest", "deliver:in_app"):
        await post_event(asgi_server, api_key, body)
        await wait_until(lambda: _is(delivery_statuses(body["eventId"]), [DeliveryStatus.SENT]))
    assert await sync_to_async(InboxMessage.objects.filter(subscriber__user_id="direct-user").count)() == 1


async def test_topic_members_wait_for_the_route_workers(
    clean_streams: None, asgi_server: str, api_key: str, event_body: EventBody
) -> None:
    @sync_to_async
    def topic_of_two() -> None:
        topic = Topic.objects.create(key="launch")
        for user_id in ("member-1", "member-2"):
            TopicMembership.objects.create(topic=topic, subscriber=Subscriber.objects.create(user_id=user_id))

    await topic_of_two()
    body = event_body(userId=None, topic="launch", channels=["in_app"], data={"title": "T", "body": "B"})
    async with running_stages("ingest", "deliver:in_app"):
        await post_event(asgi_server, api_key, body)
        await wait_until(lambda: _equals(notifications_of(body["eventId"]), 2))
        assert await delivery_statuses(body["eventId"]) == []  # the route messages wait in the stream
    async with running_stages("route", "deliver:in_app"):
        await wait_until(lambda: _is(delivery_statuses(body["eventId"]), [DeliveryStatus.SENT] * 2))


async def test_a_replayed_event_message_routes_and_delivers_once(
    clean_streams: None, event_body: EventBody
) -> None:
    """The same event message twice, as after an ingest worker died between routing and its
    ack: the second finds everything stored and sends nothing again."""
    body = canonical_body(event_body(userId="replay-user", channels=["in_app"], data={"title": "R"}))
    payload = event_message(body, fingerprint_of(body))
    nc = await nats.connect(settings.NATS_URL)
    try:
        js = nc.jetstream()
        for attempt in ("first", "replay"):
            subject = names().event_subject(body["eventType"])
            await js.publish(subject, payload, headers={"Nats-Msg-Id": f"{body['eventId']}-{attempt}"})
        async with running_stages("ingest", "deliver:in_app"):
            await wait_until(lambda: _is(delivery_statuses(body["eventId"]), [DeliveryStatus.SENT]))
            await wait_until(lambda: _drained(js))
    finally:
        await nc.close()
    assert await delivery_statuses(body["eventId"]) == [DeliveryStatus.SENT]
    assert await sync_to_async(InboxMessage.objects.filter(subscriber__user_id="replay-user").count)() == 1


async def _is(statuses: Any, expected: list[str]) -> bool:
    return sorted(await statuses) == sorted(expected)


async def _equals(count: Any, expected: int) -> bool:
    return bool(await count == expected)


async def _drained(js: Any) -> bool:
    """Ingest and the in-app partitions have nothing pending or unacked: the replay has been handled."""
    n = names()
    in_app = [(n.work_stream, n.partition_durable("in_app", k)) for k in range(n.partitions("in_app"))]
    for stream, durable in [(n.events_stream, "ingest"), *in_app]:
        info = await js.consumer_info(stream, durable)
        if info.num_pending or info.num_ack_pending:
            return False
    return True
