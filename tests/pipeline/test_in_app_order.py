"""In-app order with several in-app workers: partitions by subscriber, one owner per partition.

Two ``consume deliver --channel in_app`` processes split the partitions between them; one of
them is killed with -9 halfway, the other takes its partitions over. Every subscriber's inbox
rows, and the pushes its socket gets, still follow the order the events were accepted in.
Size knob: ``RELAY_ORDER_TEST_USERS`` x ``RELAY_ORDER_TEST_ROUNDS`` events (CI: the default).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from core.names import names
from deliveries.models import Delivery
from notifications.services import accept_events
from pipeline.partitions import lock_key
from realtime.models import InboxMessage
from tests.conftest import IN_CI, purge_streams, running_stages, start_manage, wait_until
from tests.factories import SubscriberFactory
from tests.realtime.helpers import token_for
from tests.realtime.socket_client import InboxSocket, inbox_socket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="several workers need PostgreSQL (advisory-lock leases)"
    ),
    pytest.mark.skipif(
        not settings.REDIS_URL and not IN_CI, reason="needs REDIS_URL (pushes across processes)"
    ),
]

USERS = int(os.environ.get("RELAY_ORDER_TEST_USERS", "8"))
ROUNDS = int(os.environ.get("RELAY_ORDER_TEST_ROUNDS", "40"))
WATCHED = 3  # subscribers whose socket pushes are checked too
WORKER_ENV = {"RELAY_PARTITION_CHECK_INTERVAL": "0.2", "RELAY_FETCH_BATCH": "8"}


@sync_to_async
def lock_owners() -> Counter[int]:
    """Partitions held per worker session (backend pid), as PostgreSQL sees the leases."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2"
            " AND classid = %s::bigint::oid"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [lock_key(names(), "partitions.in_app")],
        )
        return Counter(pid for (pid,) in cursor.fetchall())


async def split_evenly(workers: int) -> bool:
    owners = await lock_owners()
    share = names().partitions("in_app") // workers
    return len(owners) == workers and set(owners.values()) == {share}


@pytest.fixture
def in_app_workers(streams: None, transactional_db: None) -> Iterator[list[subprocess.Popen[bytes]]]:
    workers = [start_manage("consume", "deliver", "--channel", "in_app", **WORKER_ENV) for _ in range(2)]
    yield workers
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def title(user: str, round_: int) -> str:
    return f"{user} #{round_}"


@sync_to_async
def subscribers() -> tuple[list[str], list[str]]:
    """The users, and the tokens of the first ``WATCHED`` of them."""
    users = [f"order-{i}" for i in range(USERS)]
    for user in users:
        SubscriberFactory(user_id=user)
    return users, [token_for(user) for user in users[:WATCHED]]


@sync_to_async
def sent_at_least(event_ids: list[str], count: int) -> bool:
    return (
        Delivery.objects.filter(notification__event__event_id__in=event_ids, status="sent").count() >= count
    )


@sync_to_async
def inbox_titles(user: str) -> list[str]:
    """The user's inbox in the order its rows were created (ids are handed out in insert order)."""
    return list(
        InboxMessage.objects.filter(subscriber__user_id=user).order_by("id").values_list("title", flat=True)
    )


async def pushed_titles(socket: InboxSocket) -> list[str]:
    """Titles in the order they were pushed; a message pushed twice (a redelivery after the
    kill) counts where it first arrived."""
    seen: list[str] = []
    while len(seen) < ROUNDS:
        pushed = await socket.receive_type("notification", timeout=60)
        if pushed["message"]["title"] not in seen:
            seen.append(pushed["message"]["title"])
    return seen


async def test_each_subscribers_in_app_messages_keep_accepted_order_across_workers_and_a_kill(
    in_app_workers: list[subprocess.Popen[bytes]],
    asgi_server: str,
    event_body: Callable[..., dict[str, Any]],
) -> None:
    await purge_streams()
    users, tokens = await subscribers()
    await wait_until(lambda: split_evenly(2), timeout=30)
    # Rounds of one event per user, so every partition is busy with many subscribers at once.
    bodies = [
        event_body(userId=user, channels=["in_app"], data={"title": title(user, r)})
        for r in range(ROUNDS)
        for user in users
    ]
    event_ids = [b["eventId"] for b in bodies]
    half = len(bodies) // 2
    sockets = [inbox_socket(asgi_server, token) for token in tokens]
    opened = [await s.__aenter__() for s in sockets]
    try:
        for socket in opened:
            assert (await socket.receive())["type"] == "hello"
        watching = [asyncio.create_task(pushed_titles(socket)) for socket in opened]
        async with running_stages("ingest"):
            for start in range(0, half, 50):  # accepted in this order, chunk after chunk
                await sync_to_async(accept_events)(bodies[start : min(start + 50, half)])
            # Killed mid-stream: some of the first half sent, the rest in its hands or queued.
            await wait_until(lambda: sent_at_least(event_ids, half // 3), timeout=60)
            in_app_workers[0].send_signal(signal.SIGKILL)
            for start in range(half, len(bodies), 50):
                await sync_to_async(accept_events)(bodies[start : start + 50])
            await wait_until(lambda: sent_at_least(event_ids, len(event_ids)), timeout=120)
        pushed = await asyncio.wait_for(asyncio.gather(*watching), timeout=60)
    finally:
        for s in sockets:
            await s.__aexit__(None, None, None)
        await purge_streams()

    for user in users:
        assert await inbox_titles(user) == [title(user, r) for r in range(ROUNDS)], user
    for user, titles in zip(users, pushed, strict=False):
        assert titles == [title(user, r) for r in range(ROUNDS)], user
    # The survivor took the killed worker's partitions over.
    assert list((await lock_owners()).values()) == [names().partitions("in_app")]
