"""API-to-inbox latency at a fixed offered rate, measured by real WebSocket clients.

Each event carries its own id in ``data`` so the socket side can match it to the moment the
POST was sent. The clock starts when the client sends the POST (so the API's own accept time
is included) and stops when the frame arrives on the socket.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
import websockets

from bench.http_clients import LoadClient
from bench.load import Advance, event_body, send

GRACE_SECONDS = 10.0


@dataclass
class LatencyResult:
    offered: int = 0
    accepted: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    receipts: Counter[str] = field(default_factory=Counter)

    @property
    def missed(self) -> int:
        return sum(1 for event_id in self.accepted if not self.receipts[event_id])

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.receipts.values() if n > 1)


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def _token(http: LoadClient, user: str) -> str:
    response = await http.request("POST", f"/api/subscribers/{user}/token")
    if response.status_code != 201:
        raise RuntimeError(f"token for {user}: {response.status_code} {response.text[:200]}")
    return str(response.json()["token"])


async def measure_latency(
    http: LoadClient,
    ws_base: str,
    users: Sequence[str],
    prefix: str,
    rate: float,
    seconds: float,
    advance: Advance,
    max_in_flight: int,
) -> LatencyResult:
    result = LatencyResult(offered=max(1, round(rate * seconds)))
    sent_at: dict[str, float] = {}
    tokens = await asyncio.gather(*(_token(http, user) for user in users))
    sockets = [await websockets.connect(f"{ws_base}/ws/inbox/?token={token}") for token in tokens]
    for socket in sockets:
        hello = orjson.loads(await socket.recv())
        assert hello.get("type") == "hello", hello

    async def listen(socket: websockets.ClientConnection) -> None:
        async for frame in socket:
            arrived = time.perf_counter()
            message = orjson.loads(frame)
            if message.get("type") != "notification":
                continue
            event_id = str(message["message"].get("data", {}).get("benchEventId", ""))
            result.receipts[event_id] += 1
            if event_id in sent_at and result.receipts[event_id] == 1:
                result.latencies_ms.append((arrived - sent_at[event_id]) * 1000)

    listeners = [asyncio.create_task(listen(socket)) for socket in sockets]

    # The clock of a late request keeps running while it waits: the rate is offered, not adapted.
    in_flight = asyncio.Semaphore(max_in_flight)

    async def post(index: int) -> None:
        event_id = f"{prefix}-{index}"
        body = event_body(event_id, users[index % len(users)], ["in_app"], {"benchEventId": event_id})
        sent_at[event_id] = time.perf_counter()
        async with in_flight:  # past the pool's size, wait here (FIFO, O(1)), not in the client's pool
            response = await send(http, "POST", "/api/events", json=body)
        if response is not None and response.status_code == 202:
            result.accepted.append(event_id)
        advance(1)

    start = time.perf_counter()
    posts = []
    for index in range(result.offered):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        posts.append(asyncio.create_task(post(index)))
    await asyncio.gather(*posts)
    deadline = time.perf_counter() + GRACE_SECONDS
    while result.missed and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # a late duplicate would show up here
    for socket in sockets:
        await socket.close()
    await asyncio.gather(*listeners, return_exceptions=True)
    return result
