"""(7) A provider slower than ack_wait per batch: the worker's in_progress() heartbeats keep
its messages, so a second worker never gets and sends them again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings

from tests.reliability.conftest import (
    PrivateNats,
    at_smtp_sink,
    count,
    event_bodies,
    stages,
    submit,
    wait_for_status,
)
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


async def test_a_batch_slower_than_ack_wait_is_not_redelivered_to_another_worker(
    private_nats: PrivateNats,
    smtp_sink: SmtpSink,
    subscribers: list[str],
    event_body: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    total = 30
    smtp_sink.delay = 2 * float(settings.RELAY_ACK_WAIT) / total  # the batch takes 2 x ack_wait
    async with stages("ingest", "route"):
        sent = await submit(event_bodies(event_body, subscribers, total, ["email"], "slow"))
        await wait_for_status("email", "pending", total, timeout=30)
    async with stages("email", "email"):  # two workers on one consumer
        await wait_for_status("email", "sent", total, timeout=60)

    email = count(sent, at_smtp_sink(smtp_sink))
    email.show("slow provider", capsys, ack_wait=settings.RELAY_ACK_WAIT, smtp_calls=smtp_sink.transactions)
    assert (email.delivered, email.lost, email.duplicated) == (total, 0, 0)
