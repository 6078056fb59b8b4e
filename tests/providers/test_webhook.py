"""The webhook channel: signed POSTs to a local receiver, verified with the `standardwebhooks`
package (not Relay's code), driven through the real API and pipeline."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.ssrf import public_address
from deliveries.models import DeadLetter
from pipeline.providers.base import SUPPRESS, OutboundMessage
from pipeline.providers.webhook import WebhookProvider
from tests.fakes.webhook import Answer, Received, WebhookReceiver
from tests.providers.conftest import SendEvent, attempts_of, delivery_of

pytestmark = pytest.mark.django_db(transaction=True)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@pytest.fixture
def secret(settings: Any) -> str:
    """The webhook channel is configured by its secret; loopback receivers are allowed."""
    settings.RELAY_WEBHOOK_SECRET = new_secret()
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = True
    return str(settings.RELAY_WEBHOOK_SECRET)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    fake = WebhookReceiver()
    fake.start()
    yield fake
    fake.stop()


async def subscribe(api: APIClient, user_id: str, url: str) -> dict[str, Any]:
    response = await sync_to_async(api.put)(
        f"/api/subscribers/{user_id}", {"addresses": {"webhook": url}}, format="json"
    )
    assert response.status_code in (200, 201), response.content
    return dict(response.json())


def verified(secret: str, request: Received) -> dict[str, Any]:
    return dict(Webhook(secret).verify(request.body, request.headers))


async def test_webhook_delivery_is_a_signed_post_of_the_rendered_message(
    pipeline: None, api: APIClient, secret: str, receiver: WebhookReceiver, send_event: SendEvent
) -> None:
    await subscribe(api, "hook-ok", receiver.url("/hook-ok"))
    data = {"title": "Build passed", "body": "main is green", "actionUrl": "https://ci.example.com/1"}

    event_id = await send_event("hook-ok", ["webhook"], data=data)

    delivery = await delivery_of(event_id, "webhook")
    assert (delivery.status, delivery.provider) == ("sent", "webhook")
    (request,) = receiver.at("/hook-ok")
    assert request.headers["webhook-id"] == str(delivery.pk) == delivery.provider_message_id
    assert request.headers["content-type"] == "application/json"
    body = verified(secret, request)
    assert body["type"] == "notification" and body["timestamp"]
    assert body["data"] == {
        "eventId": event_id,
        "eventType": "account",
        "userId": "hook-ok",
        "deliveryId": delivery.pk,
        "title": "Build passed",
        "body": "main is green",
        "actionUrl": "https://ci.example.com/1",
        "data": data,
    }


async def test_a_503_is_retried_with_the_same_webhook_id_after_retry_after(
    pipeline: None,
    api: APIClient,
    secret: str,
    receiver: WebhookReceiver,
    send_event: SendEvent,
    settings: Any,
) -> None:
    settings.RELAY_BACKOFF_SECONDS = [0.05]  # on its own, the retry would come at once
    receiver.script("/busy", Answer(503, (("Retry-After", "2"),)))
    await subscribe(api, "hook-busy", receiver.url("/busy"))

    delivery = await delivery_of(await send_event("hook-busy", ["webhook"]), "webhook")

    assert delivery.status == "sent" and delivery.attempts == 2
    assert await attempts_of(delivery) == [("webhook", "transient"), ("webhook", "ok")]
    first, second = receiver.at("/busy")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(delivery.pk)
    assert verified(secret, first)["data"] == verified(secret, second)["data"]
    # The retry waited for what Retry-After asked (the nak delay), not the 0.05 s backoff.
    assert second.at - first.at >= 1.9


async def test_410_disables_the_address_and_the_next_event_finds_no_address(
    pipeline: None, api: APIClient, secret: str, receiver: WebhookReceiver, send_event: SendEvent
) -> None:
    receiver.script("/gone", Answer(410))
    url = receiver.url("/gone")
    await subscribe(api, "hook-gone", url)

    gone = await delivery_of(await send_event("hook-gone", ["webhook"]), "webhook")

    assert (gone.status, gone.reason) == ("suppressed", "address_gone")
    assert not await DeadLetter.objects.filter(delivery=gone).aexists()
    shown = (await sync_to_async(api.get)("/api/subscribers/hook-gone")).json()
    assert shown["addresses"] == {}
    assert shown["disabledAddresses"]["webhook"]["address"] == url
    assert shown["disabledAddresses"]["webhook"]["reason"] == "address_gone"

    later = await delivery_of(await send_event("hook-gone", ["webhook"]), "webhook")

    assert (later.status, later.reason) == ("suppressed", "no_address")
    assert len(receiver.at("/gone")) == 1

    # Setting the address again enables it again.
    again = await subscribe(api, "hook-gone", url)
    assert again["disabledAddresses"] == {}
    back = await delivery_of(await send_event("hook-gone", ["webhook"]), "webhook")
    assert back.status == "sent" and len(receiver.at("/gone")) == 2


@pytest.mark.parametrize("status", [301, 307, 404])
async def test_redirects_and_other_4xx_fail_permanently_to_the_dead_letters(
    pipeline: None,
    api: APIClient,
    secret: str,
    receiver: WebhookReceiver,
    send_event: SendEvent,
    status: int,
) -> None:
    receiver.script("/moved", Answer(status, (("Location", receiver.url("/elsewhere")),)))
    await subscribe(api, f"hook-{status}", receiver.url("/moved"))

    failed = await delivery_of(await send_event(f"hook-{status}", ["webhook"]), "webhook")

    assert (failed.status, failed.attempts) == ("failed", 1)
    dead = await DeadLetter.objects.aget(delivery=failed)
    assert dead.channel == "webhook" and dead.reason == f"http_{status}"
    assert len(receiver.at("/moved")) == 1 and receiver.at("/elsewhere") == []


async def test_during_a_rotation_every_secret_signs_and_each_verifies(
    pipeline: None,
    api: APIClient,
    receiver: WebhookReceiver,
    send_event: SendEvent,
    settings: Any,
) -> None:
    old, new = new_secret(), new_secret()
    settings.RELAY_WEBHOOK_SECRET, settings.RELAY_WEBHOOK_ALLOW_PRIVATE = f"{old} {new}", True
    await subscribe(api, "hook-rotate", receiver.url("/rotate"))

    delivery = await delivery_of(await send_event("hook-rotate", ["webhook"]), "webhook")

    assert delivery.status == "sent"
    (request,) = receiver.at("/rotate")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(old, request) == verified(new, request)
    with pytest.raises(WebhookVerificationError):
        verified(new_secret(), request)


def ssrf_message(to: str) -> OutboundMessage:
    return OutboundMessage(
        delivery_id=1,
        channel="webhook",
        event_id="evt_ssrf",
        event_type="account",
        subscriber_id=1,
        user_id="ssrf",
        to=to,
        content={"title": "t", "body": "b"},
    )


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/ssrf",
        "http://localhost:{port}/ssrf",
        "http://[::1]:{port}/ssrf",
        "http://10.1.2.3:{port}/ssrf",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:{port}/ssrf",
        "http://[::ffff:127.0.0.1]:{port}/ssrf",
    ],
)
async def test_private_loopback_and_link_local_targets_are_refused_without_a_request(
    secret: str, receiver: WebhookReceiver, settings: Any, target: str
) -> None:
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = False

    result = await WebhookProvider().send(ssrf_message(target.format(port=receiver.port)))

    assert result.details.get(SUPPRESS) == "invalid_address"
    assert receiver.received == []


async def test_a_public_address_passes_the_ssrf_check() -> None:
    """The control for the refusals above: a global address is let through (no request made)."""
    assert await public_address(httpx.URL("https://8.8.8.8/hook")) == "8.8.8.8"


async def test_a_refused_target_ends_the_delivery_suppressed_invalid_address(
    pipeline: None,
    api: APIClient,
    secret: str,
    receiver: WebhookReceiver,
    send_event: SendEvent,
    settings: Any,
) -> None:
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = False
    await subscribe(api, "hook-ssrf", f"http://localhost:{receiver.port}/ssrf")

    delivery = await delivery_of(await send_event("hook-ssrf", ["webhook"]), "webhook")

    assert (delivery.status, delivery.reason) == ("suppressed", "invalid_address")
    assert receiver.received == []


async def test_without_a_secret_the_webhook_channel_is_not_configured(
    pipeline: None, api: APIClient, receiver: WebhookReceiver, send_event: SendEvent, settings: Any
) -> None:
    settings.RELAY_WEBHOOK_SECRET = ""
    await subscribe(api, "hook-unset", receiver.url("/unset"))

    delivery = await delivery_of(await send_event("hook-unset", ["webhook"]), "webhook")

    assert (delivery.status, delivery.reason) == ("failed", "provider_not_configured")
    assert receiver.received == []


def test_addresses_are_set_and_read_through_the_subscribers_api(api: APIClient) -> None:
    url = "https://hooks.example.com/relay"

    created = api.put("/api/subscribers/addr", {"addresses": {"webhook": url}}, format="json")

    assert created.status_code == 201
    assert created.json()["addresses"] == {"webhook": url}
    assert api.get("/api/subscribers/addr").json()["addresses"] == {"webhook": url}
    cleared = api.put("/api/subscribers/addr", {"addresses": {}}, format="json")
    assert cleared.json()["addresses"] == {}


@pytest.mark.parametrize(
    ("addresses", "message"),
    [
        ({"fax": "+43123"}, "not a registered channel; use one of: email, sms, push, in_app, webhook"),
        ({"webhook": "ftp://hooks.example.com/x"}, "http(s) URL"),
        ({"webhook": "not a url"}, "http(s) URL"),
        ({"webhook": ""}, "non-empty string"),
        ({"webhook": 42}, "non-empty string"),
        ({"email": "a@example.com"}, "'email'"),
    ],
)
def test_bad_addresses_are_400_with_a_message_per_channel(
    api: APIClient, addresses: dict[str, Any], message: str
) -> None:
    response = api.put("/api/subscribers/bad-addr", {"addresses": addresses}, format="json")

    assert response.status_code == 400
    (channel,) = addresses
    assert message in json.dumps(response.json()["errors"]["addresses"][channel])
    assert api.get("/api/subscribers/bad-addr").status_code == 404
