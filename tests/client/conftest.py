"""A live Relay for the client's tests (the real ASGI app on a free port, JetStream behind
it), clients pointed at it, and a scripted proxy that refuses before passing requests on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from relay_client import AsyncRelay, RetryPolicy
from relay_client.models import SocketEvent
from relay_client.realtime import InboxSocket

from notifications.models import ApiKey
from tests.conftest import purge_streams, serving

# Retries in tests wait little, whatever the server's Retry-After, unless a test says otherwise.
FAST_RETRIES = RetryPolicy(max_retries=3, backoff=0.05, max_backoff=0.2)


@pytest.fixture
async def relay_url(asgi_server: str, streams: None) -> AsyncIterator[str]:
    yield f"http://{asgi_server}"
    await purge_streams()  # the events these tests accepted are nobody's to deliver


@pytest.fixture
async def relay_key(relay_url: str) -> str:
    return (await sync_to_async(ApiKey.issue)("client tests"))[1]


@pytest.fixture
async def relay(relay_url: str, relay_key: str) -> AsyncIterator[AsyncRelay]:
    async with AsyncRelay(relay_key, base_url=relay_url, retry=FAST_RETRIES) as client:
        yield client


@dataclass
class Seen:
    method: str
    path: str
    body: Any
    at: float


@dataclass
class FlakyProxy:
    """Answers the first requests from ``refusals`` (status, headers), then passes every
    request on to Relay; records each request it gets, with the loop time it came."""

    upstream: str
    refusals: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""  # where the proxy listens, once served

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        body = json.loads(raw) if raw else None
        self.seen.append(Seen(scope["method"], path, body, asyncio.get_running_loop().time()))
        if self.refusals:
            status, headers = self.refusals.pop(0)
            answer = json.dumps({"detail": "refused by the test proxy"}).encode()
            await send_response(send, status, {**headers, "content-type": "application/json"}, answer)
            return
        request_headers = {k.decode(): v.decode() for k, v in scope["headers"] if k.lower() != b"host"}
        async with httpx.AsyncClient(base_url=self.upstream) as http:
            response = await http.request(scope["method"], path, content=raw, headers=request_headers)
        await send_response(send, response.status_code, dict(response.headers), response.content)


async def send_response(send: Any, status: int, headers: dict[str, str], body: bytes) -> None:
    kept = {k: v for k, v in headers.items() if k.lower() not in {"content-length", "transfer-encoding"}}
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in kept.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def flaky_proxy(relay_url: str) -> AsyncIterator[FlakyProxy]:
    proxy = FlakyProxy(relay_url)
    async with serving(proxy) as address:
        proxy.url = f"http://{address}"
        yield proxy


async def next_of(socket: InboxSocket, kind: str) -> SocketEvent:
    async def first() -> SocketEvent:
        async for event in socket:
            if event["type"] == kind:
                return event
        raise AssertionError(f"the socket closed before a {kind!r} frame")

    return await asyncio.wait_for(first(), timeout=20)
