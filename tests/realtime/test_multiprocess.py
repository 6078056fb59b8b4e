"""Several server processes and a separate in-app worker, joined by the Redis channel layer.

A message delivered by a ``consume deliver --channel in_app`` process reaches the subscriber's
sockets on every server process, and a change made in one tab syncs tabs served elsewhere.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from core.embedded_nats import free_port
from core.names import names
from deliveries.models import Delivery
from notifications.services import accept_events
from pipeline.runner import run_stage, stage_spec
from tests.conftest import IN_CI, ROOT, purge_streams, start_manage, subprocess_env, wait_until
from tests.factories import SubscriberFactory
from tests.realtime.helpers import token_for
from tests.realtime.socket_client import inbox_socket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL and not IN_CI, reason="needs REDIS_URL (the channel layer)"),
]

APP = "config.asgi:application"
SERVERS: dict[str, Callable[[int], list[str]]] = {
    "uvicorn": lambda port: ["-m", "uvicorn", APP, "--host", "127.0.0.1", "--port", str(port)],
    "daphne": lambda port: ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), APP],
}


def start_server(kind: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *SERVERS[kind](port)],
        env=subprocess_env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def answering(address: str) -> bool:
    try:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"http://{address}/api/inbox/counts")).status_code == 401
    except httpx.TransportError:
        return False


@pytest.fixture
async def server_processes(transactional_db: None) -> AsyncIterator[list[str]]:
    """A uvicorn and a daphne process serving the app, as two replicas behind a balancer would."""
    ports = {kind: free_port() for kind in SERVERS}
    processes = [start_server(kind, port) for kind, port in ports.items()]
    addresses = [f"127.0.0.1:{port}" for port in ports.values()]
    try:
        for address in addresses:
            await wait_until(lambda address=address: answering(address), timeout=60, interval=0.2)
        yield addresses
    finally:
        stop(processes)


@pytest.fixture
def in_app_worker(streams: None, transactional_db: None) -> Iterator[None]:
    worker = start_manage("consume", "deliver", "--channel", "in_app")
    yield
    stop([worker])


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def ingest_and_route(event_id: str) -> None:
    """Run the first two stages in this loop until the in-app delivery is handed to the worker."""
    stop_stages = asyncio.Event()
    tasks = [asyncio.create_task(run_stage(stage_spec(s, names()), stop_stages)) for s in ("ingest", "route")]
    sent = sync_to_async(
        lambda: Delivery.objects.filter(notification__event__event_id=event_id, status="sent").exists()
    )
    try:
        await wait_until(sent, timeout=40)
    finally:
        stop_stages.set()
        await asyncio.gather(*tasks)


@sync_to_async
def tokens() -> tuple[str, str]:
    SubscriberFactory(user_id="alice")
    SubscriberFactory(user_id="bob")
    return token_for("alice"), token_for("bob")


async def test_worker_process_reaches_sockets_on_every_server_and_tabs_sync_across_servers(
    server_processes: list[str], in_app_worker: None, event_body: Callable[..., dict[str, Any]]
) -> None:
    uvicorn, daphne = server_processes
    alice_token, bob_token = await tokens()
    async with (
        inbox_socket(uvicorn, alice_token) as alice_on_uvicorn,
        inbox_socket(daphne, alice_token) as alice_on_daphne,
        inbox_socket(daphne, bob_token) as bob_on_daphne,
    ):
        for socket in (alice_on_uvicorn, alice_on_daphne, bob_on_daphne):
            assert (await socket.receive())["type"] == "hello"

        await purge_streams()  # events other tests left for their own "alice" would reach her too
        body = event_body(userId="alice", channels=["in_app"], data={"title": "Across processes"})
        (accepted,) = await sync_to_async(accept_events)([body])
        assert accepted.outcome == "accepted"
        await ingest_and_route(body["eventId"])

        alice_tabs = (alice_on_uvicorn, alice_on_daphne)
        pushed = [await tab.receive_type("notification", timeout=30) for tab in alice_tabs]
        assert {p["message"]["title"] for p in pushed} == {"Across processes"}
        assert {(p["unreadCount"], p["unseenCount"], p["totalCount"]) for p in pushed} == {(1, 1, 1)}
        assert (await bob_on_daphne.next_after_ping())["type"] == "pong"

        await alice_on_uvicorn.send(type="mark_read", id=pushed[0]["message"]["id"])
        synced = await alice_on_daphne.receive_type("counts")
        assert synced["unreadCount"] == 0
        assert synced["change"]["ids"] == [pushed[0]["message"]["id"]]
