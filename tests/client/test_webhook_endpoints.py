"""Status webhook endpoints through the client, sync and async, against a live Relay: CRUD,
the secret once, rotation, the message log walked page by page, replays, typed errors."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from relay_client import AsyncRelay, BadRequest, NotFound, Relay, verify_webhook

from core import webhook_signing
from tests.client.conftest import FAST_RETRIES
from webhooks.models import MessageStatus, StatusEvent, WebhookMessage

pytestmark = [pytest.mark.django_db(transaction=True)]


@sync_to_async
def failed_messages(endpoint_id: int, count: int) -> list[int]:
    """Messages as the dispatcher leaves them after the last retry failed."""
    now = timezone.now()
    ids = []
    for i in range(count):
        event = StatusEvent.objects.create(
            type="delivery.failed", data={"deliveryId": i}, occurred_at=now, published=True
        )
        message = WebhookMessage.objects.create(
            endpoint_id=endpoint_id,
            status_event=event,
            status=MessageStatus.FAILED,
            attempts=8,
            next_attempt_at=now,
        )
        ids.append(message.pk)
    return ids


async def test_endpoint_crud_and_rotation_round_trip(relay: AsyncRelay) -> None:
    created = await relay.create_webhook_endpoint(
        "https://8.8.8.8/relay", events=["delivery.failed"], description="ops"
    )
    assert created["secret"].startswith("whsec_") and created["enabled"]

    assert [e["id"] for e in await relay.webhook_endpoints()] == [created["id"]]
    fetched = await relay.get_webhook_endpoint(created["id"])
    assert "secret" not in fetched and fetched["events"] == ["delivery.failed"]
    updated = await relay.update_webhook_endpoint(created["id"], enabled=False)
    assert updated["enabled"] is False
    rotated = await relay.rotate_webhook_secret(created["id"])
    assert rotated["secret"] != created["secret"]
    # What Relay sends during the overlap verifies with the client's verifier and either secret.
    body = b'{"type": "delivery.failed"}'
    signed = webhook_signing.headers(
        "msg_1_1", int(time.time()), body, [rotated["secret"], created["secret"]]
    )
    assert verify_webhook(body, signed, created["secret"]) == {"type": "delivery.failed"}
    assert verify_webhook(body, signed, rotated["secret"]) == {"type": "delivery.failed"}

    await relay.delete_webhook_endpoint(created["id"])
    with pytest.raises(NotFound):
        await relay.get_webhook_endpoint(created["id"])


async def test_bad_endpoints_are_bad_requests_naming_the_field(relay: AsyncRelay) -> None:
    with pytest.raises(BadRequest) as refused:
        await relay.create_webhook_endpoint("https://8.8.8.8/x", events=["delivery.nope"])
    assert "events" in refused.value.errors


async def test_the_message_log_is_walked_page_by_page_and_replayed(relay: AsyncRelay) -> None:
    endpoint = await relay.create_webhook_endpoint("https://8.8.8.8/log")
    ids = await failed_messages(endpoint["id"], 5)

    walked = [m["id"] async for m in relay.iter_webhook_messages(endpoint["id"], status="failed", limit=2)]
    assert walked == sorted(ids, reverse=True)

    replayed = await relay.replay_webhook_message(endpoint["id"], ids[0])
    assert (replayed["status"], replayed["attempts"]) == ("pending", 0)
    since = timezone.now() - timedelta(minutes=1)
    assert await relay.replay_failed_webhook_messages(endpoint["id"], since) == 4
    assert (await relay.webhook_messages(endpoint["id"], status="failed"))["results"] == []


async def test_the_sync_client_has_the_same_methods(relay_url: str, relay_key: str) -> None:
    def run() -> tuple[str, list[int]]:
        with Relay(relay_key, base_url=relay_url, retry=FAST_RETRIES) as relay:
            endpoint = relay.create_webhook_endpoint("https://8.8.8.8/sync")
            page = relay.webhook_messages(endpoint["id"])
            return endpoint["secret"], [m["id"] for m in page["results"]]

    secret, messages = await sync_to_async(run)()
    assert secret.startswith("whsec_") and messages == []
