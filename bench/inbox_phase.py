"""The large-inbox phase: does a subscriber with a huge inbox cost more than a fresh one?

One subscriber gets ``--inbox-rows`` messages bulk-loaded (``bench/inbox_loader.py``), a fresh
one a page's worth. In the same run, at the same time, both get in-app events at the same
rate over real WebSockets (delivery latency, POST to frame), then ``GET /api/inbox`` is timed
for each, alternating, and for the big one also deep down (page 1,000 when the inbox has it).
Counts are counter rows and pages are index walks from the cursor, so the ratios big/fresh
should stay near 1 (target 1.2) however many rows the big inbox holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.http_clients import LoadClient
from bench.latency import LatencyResult, measure_latency, percentile

FRESH_ROWS = 100
PAGE = 20
DEEP_PAGE = 1000


@dataclass
class InboxPhase:
    rows: int = 0
    load_s: float = 0.0
    latency: dict[str, LatencyResult] = field(default_factory=dict)
    list_ms: dict[str, list[float]] = field(default_factory=dict)

    def p99(self, who: str) -> float:
        return percentile(self.latency[who].latencies_ms, 99)

    def list_p50(self, who: str) -> float:
        return percentile(self.list_ms.get(who, []), 50)

    def as_json(self) -> dict[str, Any]:
        def ratio(a: float, b: float) -> float:
            return round(a / b, 2) if b else 0.0

        return {
            "rows": self.rows,
            "load_s": round(self.load_s, 1),
            "delivery_p99_ms": {who: round(self.p99(who), 1) for who in ("big", "fresh")},
            "delivery_p99_ratio": ratio(self.p99("big"), self.p99("fresh")),
            "list_ms": {
                who: {"p50": round(self.list_p50(who), 2), "p99": round(percentile(times, 99), 2)}
                for who, times in self.list_ms.items()
            },
            "list_ratio": ratio(self.list_p50("big"), self.list_p50("fresh")),
        }


def load(rows: int, users: tuple[str, str], prefix: str) -> float:
    """Create both subscribers and their inboxes; the seconds the big load took."""
    from bench.inbox_loader import load_inbox
    from notifications.models import Subscriber

    big, fresh = (Subscriber.objects.get_or_create(user_id=user)[0] for user in users)
    loaded = load_inbox(big.pk, rows, f"{prefix}-big")
    load_inbox(fresh.pk, FRESH_ROWS, f"{prefix}-fresh")
    return loaded.seconds


def deep_cursor(user: str) -> str | None:
    """The cursor of page ``DEEP_PAGE`` of the user's inbox (or of its last page)."""
    from realtime.models import IN_INBOX, InboxMessage
    from realtime.serializers import encode_cursor

    ids = (
        InboxMessage.objects.filter(IN_INBOX, subscriber__user_id=user)
        .order_by("-id")
        .values_list("id", flat=True)
    )
    skip = min(DEEP_PAGE - 1, max(0, (ids.count() - 1) // PAGE)) * PAGE
    if not skip:
        return None
    return encode_cursor(ids.values_list("id", flat=True)[skip - 1])


async def time_listing(http: LoadClient, users: dict[str, str], requests: int) -> dict[str, list[float]]:
    """``GET /api/inbox`` for each user in turn, ``requests`` times each, timed by the client."""
    deep = await asyncio.to_thread(deep_cursor, users["big"])
    urls = {who: f"/api/inbox?userId={user}&limit={PAGE}" for who, user in users.items()}
    if deep:
        urls["big_deep"] = f"{urls['big']}&cursor={deep}"
    times: dict[str, list[float]] = {who: [] for who in urls}
    for _ in range(requests):
        for who, url in urls.items():
            started = time.perf_counter()
            reply = await http.request("GET", url)
            if reply.status_code != 200:
                raise RuntimeError(f"GET {url}: {reply.status_code} {reply.text[:200]}")
            times[who].append((time.perf_counter() - started) * 1000)
    return times


async def measure(
    http: LoadClient,
    ws_base: str,
    users: dict[str, str],
    prefix: str,
    rate: float,
    seconds: float,
    requests: int,
    advance: Callable[[int], None],
) -> InboxPhase:
    """Both subscribers' delivery latency side by side (half the rate each), then the listings."""
    phase = InboxPhase()
    results = await asyncio.gather(
        *(
            measure_latency(http, ws_base, [user], f"{prefix}-{who}-l", rate / 2, seconds, advance, 8)
            for who, user in users.items()
        )
    )
    phase.latency = dict(zip(users, results, strict=True))
    phase.list_ms = await time_listing(http, users, requests)
    return phase
