"""Webhook: POST the message as JSON, signed per Standard Webhooks, with httpx.

Answers: 2xx sent; 410 Gone suppresses the delivery (``address_gone``; the webhook channel
disables the address); 429, 5xx, timeouts and connection errors are transient and honour
``Retry-After``; redirects (never followed) and other 4xx are permanent. Before a request the
host is resolved and a private, loopback, link-local, multicast, reserved or unspecified
address is refused (``invalid_address``, nothing sent) unless RELAY_WEBHOOK_ALLOW_PRIVATE is
set; the request then goes to the address that was checked (``core.ssrf``, shared with the
status webhooks), so a second lookup cannot swap it.
"""

from __future__ import annotations

import asyncio
import time
from email.utils import parsedate_to_datetime
from typing import ClassVar

import httpx
import orjson
from django.conf import settings
from django.utils import timezone

from core import ssrf, webhook_signing
from pipeline.providers.base import OutboundMessage, Provider, ProviderResult

# The longest Retry-After honoured; a receiver asking for more is retried after this.
MAX_RETRY_AFTER = 3600.0


def payload(message: OutboundMessage) -> bytes:
    content = message.content
    return orjson.dumps(
        {
            "type": "notification",
            "timestamp": timezone.now().isoformat(),
            "data": {
                "eventId": message.event_id,
                "eventType": message.event_type,
                "userId": message.user_id,
                "deliveryId": message.delivery_id,
                "title": content.get("title", ""),
                "body": content.get("body", ""),
                "actionUrl": content.get("actionUrl", ""),
                "data": message.data,
            },
        }
    )


def retry_after(response: httpx.Response) -> float:
    """Seconds the receiver asked us to wait (delta or HTTP date), capped; 0 when it did not say."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - timezone.now()).total_seconds()
        except (TypeError, ValueError):
            return 0.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class WebhookProvider(Provider):
    name: ClassVar[str] = "webhook"
    channel: ClassVar[str] = "webhook"

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None

    def _connection(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        """One pooled client per provider instance (and event loop, which a client is bound to)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._slots is None or self._loop is not loop:
            limit = settings.RELAY_WEBHOOK_CONCURRENCY
            self._client = httpx.AsyncClient(
                timeout=settings.RELAY_WEBHOOK_TIMEOUT,
                limits=httpx.Limits(max_connections=limit),
                follow_redirects=False,
                trust_env=False,
            )
            self._slots, self._loop = asyncio.Semaphore(limit), loop
        return self._client, self._slots

    async def send(self, message: OutboundMessage) -> ProviderResult:
        started = time.perf_counter()
        try:
            url = httpx.URL(message.to)
        except httpx.InvalidURL:
            return self.suppressed(started, "invalid_address")
        if url.scheme not in ("http", "https") or not url.host:
            return self.suppressed(started, "invalid_address")
        try:
            target = await ssrf.pinned(url)
        except OSError as error:
            return self.result("transient", started, error=f"dns: {error}")
        if target is None:
            return self.suppressed(started, "invalid_address")
        url, request = target
        body = payload(message)
        msg_id = str(message.delivery_id)
        secrets = webhook_signing.parse_secrets(settings.RELAY_WEBHOOK_SECRET)
        try:
            signed = webhook_signing.headers(msg_id, int(time.time()), body, secrets)
        except ValueError as error:  # a misconfigured secret: retried once it is fixed
            return self.result("transient", started, error=f"RELAY_WEBHOOK_SECRET: {error}")
        headers = {
            **request.pop("headers", {}),
            **signed,
            "content-type": "application/json",
            "user-agent": "Relay-Webhooks/1",
        }
        client, slots = self._connection()
        try:
            async with slots:
                response = await client.post(url, content=body, headers=headers, **request)
        except httpx.TimeoutException as error:
            return self.result("transient", started, error=f"timeout: {type(error).__name__}")
        except httpx.HTTPError as error:
            return self.result("transient", started, error=f"{type(error).__name__}: {error}")
        return self._outcome(response, msg_id, started)

    def _outcome(self, response: httpx.Response, msg_id: str, started: float) -> ProviderResult:
        status = response.status_code
        if 200 <= status < 300:
            return self.result("ok", started, provider_message_id=msg_id)
        if status == 410:
            return self.suppressed(started, "address_gone")
        if status == 429 or status >= 500:
            return self.result(
                "transient", started, error=f"http_{status}", retry_after=retry_after(response)
            )
        return self.result("permanent", started, error=f"http_{status}")
