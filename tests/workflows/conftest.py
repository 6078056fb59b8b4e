"""The pipeline with the scheduler, and helpers to publish workflows and read their runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from deliveries.models import Delivery
from notifications.models import Subscriber
from pipeline.scheduler import run_scheduler
from workflows import services
from workflows.models import Run

EventBody = Callable[..., dict[str, Any]]


@pytest.fixture
async def flow(pipeline: None) -> AsyncIterator[None]:
    """Every stage and the scheduler (short passes), in the test's loop."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(stop, interval=0.1))
    yield
    stop.set()
    await asyncio.wait_for(task, timeout=10)


@sync_to_async
def publish(key: str, steps: list[dict[str, Any]]) -> None:
    services.publish(key, {"name": key, "steps": steps})


@sync_to_async
def subscriber(user_id: str, **fields: Any) -> Subscriber:
    return Subscriber.objects.create(user_id=user_id, email=f"{user_id}@example.com", **fields)


async def post_event(api: APIClient, body: dict[str, Any]) -> None:
    response = await sync_to_async(api.post)("/api/events", body, format="json")
    assert response.status_code == 202, response.content


@sync_to_async
def run_of(event_id: str) -> Run | None:
    """The event's run with its step states (by step id) in ``run.states``."""
    run = Run.objects.filter(notification__event__event_id=event_id).select_related("version").first()
    if run is not None:
        run.states = {s.step_id: s for s in run.step_states.select_related("delivery")}  # type: ignore[attr-defined]
    return run


def ended(event_id: str, status: str = "completed") -> Callable[[], Any]:
    """For ``wait_until``: the event's run once it has ``status``."""

    async def check() -> Run | None:
        run = await run_of(event_id)
        return run if run is not None and run.status == status else None

    return check


@sync_to_async
def deliveries_of(event_id: str) -> dict[str, Delivery]:
    return {d.channel: d for d in Delivery.objects.filter(notification__event__event_id=event_id)}
