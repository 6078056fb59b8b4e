"""The workflow metrics on GET /api/metrics: runs ended, step durations, waiting runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from tests.conftest import wait_until
from tests.ops.test_metrics import Samples, parse, value
from tests.workflows.support import ended, post_event, publish, subscriber

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]


async def scrape(api: APIClient) -> Samples:
    response = await sync_to_async(api.get)("/api/metrics")
    assert response.status_code == 200
    return parse(response.content.decode())


async def test_runs_steps_and_waiting_runs_are_counted(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await subscriber("wf-metrics")
    await publish("wf.metrics", [{"id": "inbox", "type": "send", "config": {"channel": "in_app"}}])
    await publish("wf.metrics.wait", [{"id": "pause", "type": "delay", "config": {"duration": 3600}}])
    before = await scrape(api)
    done = event_body(eventType="wf.metrics", userId="wf-metrics")
    waiting = event_body(eventType="wf.metrics.wait", userId="wf-metrics")
    await post_event(api, done)
    await post_event(api, waiting)
    await wait_until(ended(done["eventId"]))
    await wait_until(ended(waiting["eventId"], "waiting"))
    after = await scrape(api)
    runs = "workflow_runs_total"
    assert value(after, runs, workflow="wf.metrics", status="completed") == (
        value(before, runs, workflow="wf.metrics", status="completed") + 1
    )
    steps = "workflow_step_duration_seconds_count"
    assert value(after, steps, type="send") == value(before, steps, type="send") + 1
    assert value(after, steps, type="delay") == value(before, steps, type="delay") + 1
    assert value(after, "workflow_waiting_runs") == 1
