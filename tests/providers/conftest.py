"""Fixtures for the provider tests: local Twilio, FCM and SMTP servers the real SDKs talk to,
and helpers to submit an event through the API and wait for its delivery to settle."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from deliveries.models import Delivery, DeliveryStatus
from tests.conftest import wait_until
from tests.fakes.fcm import FcmFake
from tests.fakes.smtp import SmtpServer
from tests.fakes.twilio import TwilioFake

SETTLED = frozenset({DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SUPPRESSED})
SendEvent = Callable[..., Awaitable[str]]


@pytest.fixture
def twilio_fake(settings: Any) -> Iterator[TwilioFake]:
    fake = TwilioFake("AC" + secrets.token_hex(16), secrets.token_hex(16))
    fake.start()
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = fake.account_sid, fake.auth_token
    settings.TWILIO_FROM_NUMBER, settings.TWILIO_MESSAGING_SERVICE_SID = "+15005550006", ""
    settings.TWILIO_API_BASE = fake.base_url
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "sms": ["twilio"]}
    yield fake
    fake.stop()


@pytest.fixture
def fcm_fake(settings: Any) -> Iterator[FcmFake]:
    fake = FcmFake()
    fake.start()
    settings.FCM_CREDENTIALS = json.dumps(fake.service_account())
    settings.FCM_PROJECT_ID, settings.FCM_API_BASE = "", fake.base_url
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "push": ["fcm"]}
    yield fake
    fake.stop()


@pytest.fixture
def public_url(asgi_server: str, settings: Any) -> str:
    """Relay's public address is the ASGI test server, so provider callbacks reach it."""
    settings.RELAY_PUBLIC_URL = f"http://{asgi_server}"
    return settings.RELAY_PUBLIC_URL


@pytest.fixture
def send_event(api: APIClient, event_body: Callable[..., dict[str, Any]]) -> SendEvent:
    """POST /api/events for one user and channels; the eventId."""

    async def send(user_id: str, channels: list[str], **overrides: Any) -> str:
        body = event_body(userId=user_id, channels=channels, **overrides)
        response = await sync_to_async(api.post)("/api/events", body, format="json")
        assert response.status_code == 202, response.content
        return str(body["eventId"])

    return send


async def delivery_of(
    event_id: str, channel: str, statuses: frozenset[str] = SETTLED, timeout: float = 20
) -> Delivery:
    """The event's delivery on a channel once it is in one of ``statuses``."""
    load = sync_to_async(
        lambda: Delivery.objects.filter(notification__event__event_id=event_id, channel=channel).first()
    )

    async def check() -> Delivery | None:
        delivery = await load()
        return delivery if delivery is not None and delivery.status in statuses else None

    return await wait_until(check, timeout=timeout)


async def attempts_of(delivery: Delivery) -> list[tuple[str, str]]:
    """(provider, outcome) of every provider call, in order."""
    return await sync_to_async(
        lambda: list(delivery.attempt_log.order_by("number", "id").values_list("provider", "outcome"))
    )()


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    """A plain SMTP server; the email channel sends only through it."""
    server = SmtpServer()
    server.start()
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "email": ["smtp"]}
    yield server
    server.stop()
