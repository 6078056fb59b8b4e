"""(2) nats-server killed and restarted mid-stream (file storage): nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from tests.conftest import wait_until
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


async def test_nats_restarted_mid_stream_loses_nothing_and_the_api_answers_503_meanwhile(
    private_nats: PrivateNats,
    smtp_sink: SmtpSink,
    subscribers: list[str],
    event_body: Callable[..., dict[str, Any]],
    api: APIClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    total = max(EVENTS // 4, 100)
    bodies = event_bodies(event_body, subscribers, total, ["email", "in_app"], "restart")
    async with stages("ingest", "route", "email", "in_app"):
        sent = await submit(bodies[: total // 2])
        await wait_for_status("email", "sent", total // 10, timeout=60)

        private_nats.kill()
        response = await sync_to_async(api.post)("/api/events", bodies[-1], format="json")
        assert response.status_code == 503
        assert int(response["Retry-After"]) > 0
        private_nats.start()

        async def all_accepted() -> bool:  # a client retrying after Retry-After
            sent.extend(await submit([b for b in bodies if b["eventId"] not in set(sent)]))
            return len(sent) == total

        await wait_until(all_accepted, timeout=60, interval=1.0)
        await wait_for_status("email", "sent", total, timeout=120)
        await wait_for_status("in_app", "sent", total, timeout=60)
        await asyncio.sleep(4)  # longer than ack_wait: a redelivered copy would arrive now

    email, inbox = count(sent, at_smtp_sink(smtp_sink)), count(sent, await sync_to_async(in_inbox)())
    email.show("nats restart, email", capsys)
    inbox.show("nats restart, in_app", capsys)
    assert (email.delivered, email.lost, email.duplicated) == (total, 0, 0)
    assert (inbox.delivered, inbox.lost, inbox.duplicated) == (total, 0, 0)
