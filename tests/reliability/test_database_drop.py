"""(5) PostgreSQL connections of the stages terminated mid-batch, eight times in a row: the
stages stop acking, reconnect and resume; nothing is lost and nothing is sent twice."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

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
def spared_pid(transactional_db: None) -> int:
    """The test thread's own connection, which pytest-django still needs after the test."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _terminate_stage_backends(spared: int) -> int:
    """Only this test database's connections, never another run's or another helper's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
            [spared],
        )
        return int(cursor.fetchone()[0])


async def _drop_repeatedly(drops: list[int], times: int, spared: int) -> None:
    for _ in range(times):
        await asyncio.sleep(random.uniform(0.3, 0.9))
        drops.append(await sync_to_async(_terminate_stage_backends)(spared))


async def test_database_connections_dropped_mid_batch_lose_nothing(
    private_nats: PrivateNats,
    fast_retries: None,
    smtp_sink: SmtpSink,
    subscribers: list[str],
    event_body: Callable[..., dict[str, Any]],
    spared_pid: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    total = max(EVENTS // 4, 100)
    drops: list[int] = []
    async with stages("ingest", "route", "email", "in_app"):
        sent = await submit(event_bodies(event_body, subscribers, total, ["email", "in_app"], "pgdrop"))
        await _drop_repeatedly(drops, times=8, spared=spared_pid)
        await wait_for_status("email", "sent", total, timeout=120)
        await wait_for_status("in_app", "sent", total, timeout=60)
        await asyncio.sleep(4)  # longer than ack_wait: a redelivered copy would arrive now

    email, inbox = count(sent, at_smtp_sink(smtp_sink)), count(sent, await sync_to_async(in_inbox)())
    terminated = sum(drops)
    email.show("postgres drops, email", capsys, drops=len(drops), connections_terminated=terminated)
    inbox.show("postgres drops, in_app", capsys, drops=len(drops), connections_terminated=terminated)
    assert terminated > 0, "connections must be dropped mid-stream for this test to mean anything"
    assert (email.delivered, email.lost, email.duplicated) == (total, 0, 0)
    assert (inbox.delivered, inbox.lost, inbox.duplicated) == (total, 0, 0)
