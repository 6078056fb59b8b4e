"""(4) Permanent failures all end as dead letters (and on relay.dlq.email); once the fault is
fixed, replay_dead_letters delivers every one of them, once."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import nats
import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command

from core.names import names
from deliveries.models import DeadLetter
from pipeline import breaker
from tests.reliability.conftest import (
    EVENTS,
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


async def _dlq_messages(url: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info(names().dlq_stream)
        return int(info.state.messages)
    finally:
        await nc.close()


async def test_permanent_failures_end_in_the_dlq_and_replay_delivers_them_after_the_fix(
    private_nats: PrivateNats,
    smtp_sink: SmtpSink,
    subscribers: list[str],
    event_body: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    smtp_sink.permanent = True
    total = max(EVENTS // 10, 100)
    async with stages("ingest", "route", "email"):
        sent = await submit(event_bodies(event_body, subscribers, total, ["email"], "perm"))
        await wait_for_status("email", "failed", total, timeout=60)
        assert await sync_to_async(DeadLetter.objects.count)() == total
        assert await _dlq_messages(private_nats.url) == total
        assert (await sync_to_async(breaker.states)())["smtp"]["state"] == "closed", (
            "a provider that answers, even no, is healthy"
        )

        smtp_sink.permanent = False
        out = io.StringIO()
        await sync_to_async(call_command)("replay_dead_letters", "--channel", "email", stdout=out)
        assert out.getvalue().strip() == f"replayed={total} already_done=0 unpublished=0"
        await wait_for_status("email", "sent", total, timeout=60)

    email = count(sent, at_smtp_sink(smtp_sink))
    email.show("permanent failures, replayed", capsys, dead_letters=total, smtp_calls=smtp_sink.transactions)
    assert (email.delivered, email.lost, email.duplicated) == (total, 0, 0)
    assert smtp_sink.transactions == 2 * total, "one refused call and one replayed call each"
