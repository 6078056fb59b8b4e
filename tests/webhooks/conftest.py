"""Status webhooks: a local receiver verified with the `standardwebhooks` package, endpoints
made through the API, the webhooks stage and its dispatcher running in the test's loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from tests.fakes.webhook import Received, WebhookReceiver
from tests.providers.conftest import send_event  # noqa: F401  (fixture, shared)
from webhooks.dispatch import Dispatcher


@pytest.fixture
def receiver(settings: Any) -> Iterator[WebhookReceiver]:
    """A receiver on loopback, which the SSRF guard lets through only in tests like these."""
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = True
    fake = WebhookReceiver()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fast_schedule(settings: Any) -> list[float]:
    """The Standard Webhooks schedule scaled from seconds-to-hours down to tenths of seconds."""
    settings.RELAY_STATUS_WEBHOOK_RETRY_SECONDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.6]
    settings.RELAY_STATUS_WEBHOOK_POLL = 0.05
    return list(settings.RELAY_STATUS_WEBHOOK_RETRY_SECONDS)


@pytest.fixture
async def dispatcher(fast_schedule: list[float]) -> AsyncIterator[None]:
    """The dispatcher that `consume webhooks` runs beside the stage, in this test's loop."""
    stop = asyncio.Event()
    task = asyncio.create_task(Dispatcher().run(stop))
    yield
    stop.set()
    await asyncio.wait_for(task, timeout=15)


async def create_endpoint(api: APIClient, url: str, **fields: Any) -> dict[str, Any]:
    response = await sync_to_async(api.post)("/api/webhook-endpoints", {"url": url, **fields}, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def verified(secret: str, request: Received) -> dict[str, Any]:
    """The body, once the `standardwebhooks` package (not Relay's code) accepts its signature."""
    return dict(Webhook(secret).verify(request.body, request.headers))


async def get_json(api: APIClient, url: str) -> Any:
    response = await sync_to_async(api.get)(url)
    assert response.status_code == 200, response.content
    return response.json()


async def disabled_endpoint(api: APIClient, endpoint_id: int) -> dict[str, Any] | None:
    """The endpoint as the API shows it, once it is disabled."""
    body = await get_json(api, f"/api/webhook-endpoints/{endpoint_id}")
    return None if body["enabled"] else dict(body)


async def logged(api: APIClient, endpoint_id: int, query: str = "") -> list[dict[str, Any]]:
    """The endpoint's message log (newest first); ``query`` filters it."""
    return list((await get_json(api, f"/api/webhook-endpoints/{endpoint_id}/messages{query}"))["results"])
