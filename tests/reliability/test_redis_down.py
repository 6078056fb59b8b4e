"""(6) Redis unreachable the whole time: dedup, rate limits and breakers fall back (logged),
no stage crashes, and every event is delivered once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from core.embedded_nats import free_port
from tests.reliability.conftest import (
    EVENTS,
    PrivateNats,
    at_smtp_sink,
    count,
    event_bodies,
    in_inbox,
    stages,
    submit,
    wait_for_status,
)
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_down(settings: Any) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": dead,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [dead]}}
    }
    settings.REDIS_URL = dead
    settings.RELAY_RATE_LIMITS = {**settings.RELAY_RATE_LIMITS, "email": "1000/h"}


async def test_redis_down_degrades_to_the_database_and_delivers_everything_once(
    private_nats: PrivateNats,
    redis_down: None,
    smtp_sink: SmtpSink,
    subscribers: list[str],
    event_body: Callable[..., dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    total = max(EVENTS // 10, 100)
    async with stages("ingest", "route", "email", "in_app"):
        sent = await submit(event_bodies(event_body, subscribers, total, ["email", "in_app"], "noredis"))
        await wait_for_status("email", "sent", total, timeout=90)
        await wait_for_status("in_app", "sent", total, timeout=60)
        await asyncio.sleep(4)  # longer than ack_wait: a redelivered copy would arrive now

    email, inbox = count(sent, at_smtp_sink(smtp_sink)), count(sent, await sync_to_async(in_inbox)())
    email.show("redis down, email", capsys)
    inbox.show("redis down, in_app", capsys)
    assert (email.delivered, email.lost, email.duplicated) == (total, 0, 0)
    assert (inbox.delivered, inbox.lost, inbox.duplicated) == (total, 0, 0)
    for fallback in ("dedup_redis_unavailable", "rate_limit_redis_unavailable", "breaker_redis_unavailable"):
        assert fallback in caplog.text
    assert "stage_batch_failed" not in caplog.text
