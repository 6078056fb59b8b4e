"""Short, bounded looks at the services Relay depends on, for health checks and scrapes.

Every probe has a deadline (``HEALTH_CHECK_TIMEOUT``) and never reconnects: an operator
asking "is NATS up?" wants an answer now, not a client that retries forever.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import nats
import redis.asyncio as aioredis
from django.conf import settings
from django.db import connection
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from core.db import run_db
from core.names import names
from core.nats_client import nats_servers


def timeout() -> float:
    return float(settings.HEALTH_CHECK_TIMEOUT)


@asynccontextmanager
async def nats_connection() -> AsyncIterator[NATS]:
    """One connection attempt within the deadline; closed on exit."""
    nc = await asyncio.wait_for(
        nats.connect(
            nats_servers(),
            name="relay-probe",
            connect_timeout=timeout(),
            allow_reconnect=False,
            max_reconnect_attempts=0,
        ),
        timeout=timeout(),
    )
    try:
        yield nc
    finally:
        await nc.close()


def _select_one() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # The probe runs on a pool thread: leave no connection behind on it.
        connection.close()


async def check_database() -> None:
    await run_db(_select_one)


async def check_redis() -> None:
    client = aioredis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout(), socket_timeout=timeout())
    try:
        await client.ping()
    finally:
        await client.aclose()


async def check_nats() -> None:
    async with nats_connection() as nc:
        await nc.flush(timeout=max(1, int(timeout())))


async def timed(check: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    """Run one check under the deadline: ``{"status": "ok"|"down", "latencyMs", "error"?}``."""
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=timeout())
    except Exception as error:
        reason = "timeout" if isinstance(error, TimeoutError) else f"{type(error).__name__}: {error}"
        return {"status": "down", "latencyMs": _ms_since(started), "error": reason[:300]}
    return {"status": "ok", "latencyMs": _ms_since(started)}


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@dataclass(frozen=True)
class ConsumerLag:
    """JetStream's own view of one durable consumer (its ``consumer_info``)."""

    consumer: str
    stream: str
    pending: int
    ack_pending: int
    redelivered: int


async def consumer_lags() -> list[ConsumerLag]:
    """Lag of every pipeline consumer; consumers not created yet are left out."""
    lags = []
    async with nats_connection() as nc:
        js = nc.jetstream(timeout=timeout())
        for durable, (stream, _) in names().consumers().items():
            try:
                info = await js.consumer_info(stream, durable)
            except NotFoundError:
                continue
            lags.append(
                ConsumerLag(
                    consumer=durable,
                    stream=stream,
                    pending=int(info.num_pending or 0),
                    ack_pending=int(info.num_ack_pending or 0),
                    redelivered=int(info.num_redelivered or 0),
                )
            )
    return lags
