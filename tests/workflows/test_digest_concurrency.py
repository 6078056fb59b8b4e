"""Issue 16 item 5: many events for one subscriber and key, posted at once, make one digest per
window, each event in exactly one of them.

The events go in through the real API (batches and single POSTs mixed, concurrently), with
TWO ingest workers and TWO workflow workers (the test's in-process stages plus one worker
process of each), over real NATS, PostgreSQL and Redis. ``RELAY_DIGEST_EVENTS`` sets how many
(default 1000).
"""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async

from deliveries.models import Delivery
from notifications.models import ApiKey
from tests.conftest import ROOT, subprocess_env, wait_until
from tests.workflows.support import publish, subscriber
from workflows.models import LIVE_RUN_STATUSES, DigestMember, DigestWindow, Run, RunStatus

pytestmark = [pytest.mark.django_db(transaction=True)]

EVENTS = int(os.environ.get("RELAY_DIGEST_EVENTS", "1000"))
BATCH = 100  # events per batch POST; half the events go in batches, half one POST each
SINGLE_CONCURRENCY = 16


@pytest.fixture
def second_workers(pipeline: None) -> Iterator[None]:
    """A second ingest worker and a second workflow worker, each its own process."""
    processes = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "consume", stage],
            env=subprocess_env(),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for stage in ("ingest", "workflow")
    ]
    yield
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=15)


@pytest.fixture
async def http(asgi_server: str) -> AsyncIterator[httpx.AsyncClient]:
    _, key = await sync_to_async(ApiKey.issue)("digest-concurrency")
    async with httpx.AsyncClient(
        base_url=f"http://{asgi_server}", headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as client:
        yield client


async def _post(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST, waiting out a 429 (the API key's rate limit) as a client would."""
    while True:
        response = await http.post(path, json=body)
        if response.status_code != 429:
            return response
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))


async def post_all_concurrently(http: httpx.AsyncClient, events: list[dict[str, Any]]) -> None:
    """Odd events in batch POSTs, even ones one POST each, all in flight together."""
    batched, single = events[1::2], events[0::2]
    gate = asyncio.Semaphore(SINGLE_CONCURRENCY)

    async def one(event: dict[str, Any]) -> None:
        async with gate:
            response = await _post(http, "/api/events", event)
        assert response.status_code == 202, response.text

    async def batch(chunk: list[dict[str, Any]]) -> None:
        response = await _post(http, "/api/events/batch", {"events": chunk})
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(chunk), response.text

    await asyncio.gather(
        *(batch(batched[i : i + BATCH]) for i in range(0, len(batched), BATCH)), *(one(e) for e in single)
    )


@sync_to_async
def runs_settled(event_type: str) -> bool:
    runs = Run.objects.filter(version__workflow__key=event_type)
    return runs.count() == EVENTS and not runs.filter(status__in=LIVE_RUN_STATUSES).exists()


@sync_to_async
def digests_of(event_type: str) -> dict[str, Any]:
    windows = list(DigestWindow.objects.filter(workflow__key=event_type).order_by("opened_at", "pk"))
    carriers = Run.objects.filter(version__workflow__key=event_type, status=RunStatus.COMPLETED)
    return {
        "windows": [(w.status, w.count, w.carrier_run_id is not None) for w in windows],
        "members": DigestMember.objects.filter(window__in=windows).values("run").distinct().count(),
        "carried": sorted(run.context["digest"]["count"] for run in carriers),
        "carriers": sorted(run.pk for run in carriers),
        "window_carriers": sorted(w.carrier_run_id for w in windows if w.carrier_run_id),
        "digested": Run.objects.filter(version__workflow__key=event_type, status=RunStatus.DIGESTED).count(),
        "sent": Delivery.objects.filter(notification__event__event_type=event_type).count(),
    }


async def _digest_everything(
    http: httpx.AsyncClient, event_type: str, max_items: int | None
) -> dict[str, Any]:
    config: dict[str, Any] = {"window": "5s", "maxWait": "10m", "key": "payload.postId"}
    if max_items:
        config["maxItems"] = max_items
    await publish(
        event_type,
        [
            {"id": "collect", "type": "digest", "config": config},
            {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
        ],
    )
    await subscriber("digest-crowd")
    run = os.urandom(4).hex()  # eventIds stay taken in Redis after the test database is flushed
    events = [
        {
            "eventId": f"{event_type}-{run}-{index}",
            "eventType": event_type,
            "userId": "digest-crowd",
            "channels": ["in_app"],
            "data": {"postId": "post-1", "actor": f"user-{index % 7}", "n": index},
        }
        for index in range(EVENTS)
    ]
    await post_all_concurrently(http, events)
    await wait_until(lambda: runs_settled(event_type), timeout=240, interval=0.5)
    return await digests_of(event_type)


async def test_concurrent_events_for_one_key_make_exactly_one_digest(
    second_workers: None, workflow_pipeline: None, http: httpx.AsyncClient
) -> None:
    found = await _digest_everything(http, "digest.crowd", max_items=None)
    assert found["windows"] == [("closed", EVENTS, True)]
    assert found["members"] == EVENTS
    assert found["carried"] == [EVENTS]
    assert (found["digested"], found["sent"]) == (EVENTS - 1, 1)


async def test_max_items_splits_them_into_full_digests_each_carried_once(
    second_workers: None, workflow_pipeline: None, http: httpx.AsyncClient
) -> None:
    max_items = max(2, math.ceil(EVENTS * 0.3))
    digests = math.ceil(EVENTS / max_items)
    found = await _digest_everything(http, "digest.capped", max_items=max_items)
    full = [max_items] * (EVENTS // max_items)
    rest = [EVENTS % max_items] if EVENTS % max_items else []
    assert [(status, carried) for status, _, carried in found["windows"]] == [("closed", True)] * digests
    assert [count for _, count, _ in found["windows"]] == full + rest
    assert found["members"] == EVENTS
    assert found["carried"] == sorted(full + rest)
    assert found["carriers"] == found["window_carriers"]  # one carrier per window, none twice
    assert (found["digested"], found["sent"]) == (EVENTS - digests, digests)
