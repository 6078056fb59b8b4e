"""Helpers of the workflow tests: publish workflows, post events, read runs and their steps."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import time
from typing import Any

import nats
import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from rest_framework.test import APIClient

from core.names import names
from deliveries.models import Delivery
from notifications.models import Subscriber
from preferences.models import QuietHours
from workflows import services
from workflows.models import Run

EventBody = Callable[..., dict[str, Any]]


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


@sync_to_async
def quiet_all_day(user_id: str) -> None:
    QuietHours.objects.create(
        subscriber=Subscriber.objects.get(user_id=user_id), start=time(0, 0), end=time(23, 59)
    )


async def publish_run_messages(run_id: int, copies: int = 1) -> None:
    """The run's message again (a redelivery, a late wake), each copy with its own id so that
    JetStream keeps every one."""
    nc = await nats.connect(settings.NATS_URL)
    try:
        js = nc.jetstream()
        for copy in range(copies):
            await js.publish(
                names().workflow_subject,
                orjson.dumps({"run_id": run_id}),
                headers={"Nats-Msg-Id": f"again-{run_id}-{copy}-{os.urandom(4).hex()}"},
            )
    finally:
        await nc.close()


async def workflow_consumer_idle() -> bool:
    """For ``wait_until``: the workflow stage has handled and acked every message."""
    nc = await nats.connect(settings.NATS_URL)
    try:
        info = await nc.jetstream().consumer_info(names().work_stream, "workflow")
        return info.num_pending == 0 and info.num_ack_pending == 0
    finally:
        await nc.close()
