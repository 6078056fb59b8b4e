"""HTTP load: subscribers first, then single-event POSTs and batch POSTs.

Every accepted ``eventId`` is kept, so the run can later compare what the API accepted with
what reached the sinks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.http_clients import LoadClient, Reply, TransportFailure

Advance = Callable[[int], None]
ATTEMPTS = 3
# Sized like a typical transactional notification: a name, a link, a short text.
FILLER = "Your weekly summary is ready: 3 new comments, 2 mentions and 1 follow request."


@dataclass
class PhaseResult:
    accepted: list[str] = field(default_factory=list)
    rejected: int = 0
    started_at: float = 0.0  # wall clock, to compare with delivery timestamps
    elapsed: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.accepted) / self.elapsed if self.elapsed > 0 else 0.0


async def send(http: LoadClient, method: str, url: str, json: Any = None) -> Reply | None:
    """One request, retried on a broken connection as a real client would: event POSTs are
    idempotent by ``eventId``, so a retry can never deliver twice. None if it never got through."""
    for attempt in range(ATTEMPTS):
        try:
            return await http.request(method, url, json=json)
        except TransportFailure:
            await asyncio.sleep(0.05 * (attempt + 1))
    return None


def user_id(index: int) -> str:
    return f"bench-user-{index}"


def event_body(
    event_id: str, user: str, channels: Sequence[str], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "eventType": "bench.digest",
        "userId": user,
        "channels": list(channels),
        "data": {
            "userName": user,
            "actionUrl": f"https://example.com/digest/{event_id}",
            "text": FILLER,
            **(extra or {}),
        },
    }


def event_bodies(
    prefix: str, count: int, users: Sequence[str], channels: Sequence[str]
) -> list[dict[str, Any]]:
    return [event_body(f"{prefix}-{i}", users[i % len(users)], channels) for i in range(count)]


async def _workers(items: Iterator[Any], concurrency: int, work: Callable[[Any], Any]) -> None:
    async def worker() -> None:
        for item in items:  # a shared iterator: each item is taken by exactly one worker
            await work(item)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def create_subscribers(http: LoadClient, count: int, concurrency: int, advance: Advance) -> list[str]:
    users = [user_id(i) for i in range(count)]

    async def put(user: str) -> None:
        response = await send(http, "PUT", f"/api/subscribers/{user}", json={"email": f"{user}@example.test"})
        if response is None or response.status_code not in (200, 201):
            detail = "no answer" if response is None else f"{response.status_code} {response.text[:200]}"
            raise RuntimeError(f"PUT subscriber {user}: {detail}")
        advance(1)

    await _workers(iter(users), concurrency, put)
    return users


async def post_single(
    http: LoadClient, bodies: Sequence[dict[str, Any]], concurrency: int, advance: Advance
) -> PhaseResult:
    result = PhaseResult(started_at=time.time())
    started = time.perf_counter()

    async def post(body: dict[str, Any]) -> None:
        response = await send(http, "POST", "/api/events", json=body)
        if response is not None and response.status_code == 202:
            result.accepted.append(body["eventId"])
        else:
            result.rejected += 1
        advance(1)

    await _workers(iter(bodies), concurrency, post)
    result.elapsed = time.perf_counter() - started
    return result


async def post_batches(
    http: LoadClient,
    bodies: Sequence[dict[str, Any]],
    batch_size: int,
    concurrency: int,
    advance: Advance,
) -> PhaseResult:
    result = PhaseResult(started_at=time.time())
    started = time.perf_counter()
    batches = [list(bodies[i : i + batch_size]) for i in range(0, len(bodies), batch_size)]

    async def post(batch: list[dict[str, Any]]) -> None:
        response = await send(http, "POST", "/api/events/batch", json={"events": batch})
        if response is None or response.status_code != 200:
            result.rejected += len(batch)
        else:
            for item in response.json()["results"]:
                if item["code"] == 202:
                    result.accepted.append(item["eventId"])
                else:
                    result.rejected += 1
        advance(len(batch))

    await _workers(iter(batches), concurrency, post)
    result.elapsed = time.perf_counter() - started
    return result
