"""POST /api/workflows/cancel: waiting runs end ``cancelled`` and send nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from deliveries.models import Delivery
from tests.conftest import wait_until
from tests.smtp_sink import SmtpSink
from tests.workflows.support import (
    deliveries_of,
    ended,
    post_event,
    publish,
    publish_run_messages,
    quiet_all_day,
    run_of,
    subscriber,
    workflow_consumer_idle,
)
from workflows.models import Wait

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]

REMINDER = [
    {"id": "pause", "type": "delay", "config": {"duration": 3600}},
    {"id": "mail", "type": "send", "config": {"channel": "email"}},
]


async def cancel(api: APIClient, body: dict[str, Any]) -> Any:
    return await sync_to_async(api.post)("/api/workflows/cancel", body, format="json")


async def test_cancel_ends_the_waiting_runs_of_a_key_and_a_late_wake_sends_nothing(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    await subscriber("wf-cancel")
    await publish("wf.cancel", REMINDER)
    body = event_body(eventType="wf.cancel", userId="wf-cancel", cancellationKey="order-1")
    await post_event(api, body)
    run = await wait_until(ended(body["eventId"], "waiting"))

    response = await cancel(api, {"cancellationKey": "order-1"})
    assert (response.status_code, response.json()) == (200, {"cancelled": 1})

    cancelled = await run_of(body["eventId"])
    assert (cancelled.status, cancelled.reason) == ("cancelled", "cancelled")
    assert {(s.status, s.reason) for s in cancelled.states.values()} == {("cancelled", "cancelled")}
    assert not await sync_to_async(Wait.objects.filter(run_id=run.pk).exists)()
    # A wake that was already on its way (a due wait, a read) finds the run cancelled.
    await publish_run_messages(run.pk)
    await wait_until(workflow_consumer_idle)
    assert (await run_of(body["eventId"])).status == "cancelled"
    assert await deliveries_of(body["eventId"]) == {}
    assert (await cancel(api, {"cancellationKey": "order-1"})).json() == {"cancelled": 0}


async def test_cancel_with_a_user_id_cancels_only_that_subscribers_runs(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await subscriber("wf-cancel-a")
    await subscriber("wf-cancel-b")
    await publish("wf.cancelone", REMINDER)
    bodies = [
        event_body(eventType="wf.cancelone", userId=user, cancellationKey="thread-9")
        for user in ("wf-cancel-a", "wf-cancel-b")
    ]
    for body in bodies:
        await post_event(api, body)
    for body in bodies:
        await wait_until(ended(body["eventId"], "waiting"))
    response = await cancel(api, {"cancellationKey": "thread-9", "userId": "wf-cancel-a"})
    assert response.json() == {"cancelled": 1}
    assert (await run_of(bodies[0]["eventId"])).status == "cancelled"
    assert (await run_of(bodies[1]["eventId"])).status == "waiting"


async def test_cancel_suppresses_a_send_still_deferred_by_quiet_hours(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    await subscriber("wf-cancel-quiet")
    await quiet_all_day("wf-cancel-quiet")
    await publish("wf.cancelquiet", [REMINDER[1], REMINDER[0]])
    body = event_body(eventType="wf.cancelquiet", userId="wf-cancel-quiet", cancellationKey="k")
    await post_event(api, body)
    run = await wait_until(ended(body["eventId"], "waiting"))
    assert run.states["mail"].delivery.status == "deferred"
    assert (await cancel(api, {"cancellationKey": "k"})).json() == {"cancelled": 1}
    delivery = await sync_to_async(Delivery.objects.get)(pk=run.states["mail"].delivery_id)
    assert (delivery.status, delivery.reason) == ("suppressed", "cancelled")


async def test_cancel_names_a_missing_or_bad_field(api: APIClient) -> None:
    missing = await cancel(api, {"userId": "x"})
    assert missing.status_code == 400
    assert set(missing.json()["errors"]) == {"cancellationKey"}
    unknown = await cancel(api, {"cancellationKey": "k", "user": "x"})
    assert unknown.status_code == 400
    assert set(unknown.json()["errors"]) == {"user"}
    anonymous = await sync_to_async(APIClient().post)("/api/workflows/cancel", {}, format="json")
    assert anonymous.status_code == 401
