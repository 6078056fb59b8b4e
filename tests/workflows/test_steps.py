"""Each step type run through the real pipeline: API -> ingest -> route -> workflow -> deliver."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient

from core.names import names
from deliveries.models import Delivery
from pipeline.runner import run_stage, stage_spec
from tests.conftest import wait_until
from tests.smtp_sink import SmtpSink
from tests.workflows.support import (
    deliveries_of,
    ended,
    post_event,
    publish,
    quiet_all_day,
    run_of,
    subscriber,
)
from workflows import services
from workflows.steps.delay import next_occurrence

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]


async def test_send_steps_deliver_on_their_channels_and_the_run_completes(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    await subscriber("wf-send")
    await publish(
        "wf.send",
        [
            {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
            {"id": "mail", "type": "send", "config": {"channel": "email"}},
        ],
    )
    body = event_body(eventType="wf.send", userId="wf-send", channels=["push"], data={"title": "Hi"})
    await post_event(api, body)
    run = await wait_until(ended(body["eventId"]))
    assert {s.step_id: (s.status, s.delivery.channel) for s in run.states.values()} == {
        "inbox": ("done", "in_app"),
        "mail": ("done", "email"),
    }
    await wait_until(lambda: len(smtp_sink.messages) == 1)
    # The event's own channels are not used: the workflow decides where it goes.
    assert set(await deliveries_of(body["eventId"])) == {"in_app", "email"}


async def test_an_event_type_without_a_workflow_goes_to_its_channels(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await subscriber("wf-none")
    await publish("wf.gone", [{"id": "inbox", "type": "send", "config": {"channel": "in_app"}}])
    await sync_to_async(services.delete)("wf.gone")
    body = event_body(eventType="wf.gone", userId="wf-none", channels=["email", "push"])
    await post_event(api, body)
    found = await wait_until(lambda: _with_channels(body["eventId"], {"email", "push"}))
    assert set(found) == {"email", "push"}
    assert await run_of(body["eventId"]) is None


async def test_an_event_of_a_workflow_type_may_leave_channels_out_and_others_may_not(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await subscriber("wf-nochannels")
    await publish("wf.nochannels", [{"id": "inbox", "type": "send", "config": {"channel": "in_app"}}])
    body = event_body(eventType="wf.nochannels", userId="wf-nochannels", channels=None)
    assert "channels" not in body
    await post_event(api, body)
    run = await wait_until(ended(body["eventId"]))
    assert run.states["inbox"].delivery.channel == "in_app"

    other = event_body(eventType="no.workflow", userId="wf-nochannels", channels=None)
    response = await sync_to_async(api.post)("/api/events", other, format="json")
    assert response.status_code == 400
    assert "unless the event type has a workflow" in response.json()["errors"]["channels"][0]


async def _with_channels(event_id: str, channels: set[str]) -> dict[str, Any] | None:
    found = await deliveries_of(event_id)
    return found if set(found) == channels else None


async def test_delays_wait_for_a_duration_and_for_a_payload_time(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await subscriber("wf-delay")
    await publish(
        "wf.delay",
        [
            {"id": "pause", "type": "delay", "config": {"duration": 1}},
            {"id": "due", "type": "delay", "config": {"until": "payload.dueAt"}},
            {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
        ],
    )
    posted = timezone.now()
    due_at = posted + timedelta(seconds=2)
    body = event_body(eventType="wf.delay", userId="wf-delay", data={"dueAt": due_at.isoformat()})
    await post_event(api, body)
    waiting = await wait_until(ended(body["eventId"], "waiting"))
    assert waiting.states["pause"].waiting_until >= posted + timedelta(seconds=1)
    assert waiting.states["inbox"].status == "pending"
    run = await wait_until(ended(body["eventId"]))
    assert [(s.status, s.reason) for s in run.states.values()] == [
        ("done", "elapsed"),
        ("done", "elapsed"),
        ("done", ""),
    ]
    # The message was made only once the payload's time had come.
    assert run.states["inbox"].delivery.created_at >= due_at


async def test_a_delay_at_a_local_time_waits_for_its_next_occurrence_in_the_subscribers_zone(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await subscriber("wf-at", timezone="America/New_York")
    await publish(
        "wf.at",
        [
            {"id": "morning", "type": "delay", "config": {"at": "09:30"}},
            {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
        ],
    )
    posted = timezone.now()
    body = event_body(eventType="wf.at", userId="wf-at")
    await post_event(api, body)
    run = await wait_until(ended(body["eventId"], "waiting"))
    until = run.states["morning"].waiting_until
    local = until.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (9, 30)
    assert posted < until <= posted + timedelta(days=1, hours=1)
    assert run.states["morning"].status == "waiting"


def test_next_occurrence_follows_the_wall_clock_across_dst_changes() -> None:
    new_york = "America/New_York"
    # Spring forward (2026-03-08, 02:00 -> 03:00): 09:00 is 14:00 UTC before, 13:00 UTC after.
    before = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)
    assert next_occurrence("0 9 * * *", new_york, before) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    assert next_occurrence("0 9 * * *", new_york, before - timedelta(hours=2)) == datetime(
        2026, 3, 7, 14, 0, tzinfo=UTC
    )
    # 02:30 does not exist that night: it lands just after the gap, at 03:30 EDT.
    gap = next_occurrence("30 2 * * *", new_york, datetime(2026, 3, 8, 5, 0, tzinfo=UTC))
    assert gap == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    # Fall back (2026-11-01, 02:00 -> 01:00): 01:30 happens twice and counts once, the first time.
    first = next_occurrence("30 1 * * *", new_york, datetime(2026, 11, 1, 4, 0, tzinfo=UTC))
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert next_occurrence("30 1 * * *", new_york, first) == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
    # Europe/Vienna, "HH:MM" as the definitions store it.
    vienna = next_occurrence("0 8 * * *", "Europe/Vienna", datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert vienna == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


async def test_conditions_skip_or_run_a_step_and_record_the_values_they_read(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await subscriber("wf-if", data={"vip": True})
    await publish(
        "wf.if",
        [
            {
                "id": "alert",
                "type": "send",
                "config": {"channel": "in_app"},
                "if": {"==": [{"var": "payload.kind"}, "alert"]},
            },
            {
                "id": "vip",
                "type": "send",
                "config": {"channel": "email"},
                "if": {
                    "and": [
                        {"var": "subscriber.data.vip"},
                        {"==": [{"var": "steps.alert.status"}, "skipped"]},
                    ]
                },
            },
        ],
    )
    body = event_body(eventType="wf.if", userId="wf-if", data={"kind": "info"})
    await post_event(api, body)
    run = await wait_until(ended(body["eventId"]))
    alert, vip = run.states["alert"], run.states["vip"]
    assert (alert.status, alert.reason, alert.delivery) == ("skipped", "condition_false", None)
    assert alert.values == {"condition": {"payload.kind": "info"}}
    assert (vip.status, vip.delivery.channel) == ("done", "email")
    assert vip.values["condition"] == {"subscriber.data.vip": True, "steps.alert.status": "skipped"}


async def test_quiet_hours_defer_the_send_step_not_the_run(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    await subscriber("wf-quiet")
    await quiet_all_day("wf-quiet")
    await publish(
        "wf.quiet",
        [
            {"id": "mail", "type": "send", "config": {"channel": "email"}},
            {"id": "pause", "type": "delay", "config": {"duration": 1}},
            {"id": "inbox", "type": "send", "config": {"channel": "in_app", "urgent": True}},
        ],
    )
    body = event_body(eventType="wf.quiet", userId="wf-quiet")
    await post_event(api, body)
    run = await wait_until(ended(body["eventId"]))
    mail = run.states["mail"]
    assert (mail.status, mail.reason, mail.delivery.status) == ("done", "quiet_hours", "deferred")
    assert mail.waiting_until is not None and mail.waiting_until == mail.delivery.not_before
    assert mail.waiting_until > timezone.now()
    # The run went on: the urgent in-app step ignored the quiet hours and was sent.
    assert await wait_until(lambda: _status(run.states["inbox"].delivery_id, "sent"))


@sync_to_async
def _status(delivery_id: int, status: str) -> bool:
    return Delivery.objects.get(pk=delivery_id).status == status


async def test_throttle_lets_limit_runs_through_per_key_and_window(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await subscriber("wf-throttle")
    await publish(
        "wf.throttle",
        [
            {
                "id": "gate",
                "type": "throttle",
                "config": {"limit": 2, "window": 3600, "key": "payload.thread"},
            },
            {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
        ],
    )
    bodies = [
        event_body(eventType="wf.throttle", userId="wf-throttle", data={"thread": thread})
        for thread in ("a", "a", "a", "b")
    ]
    for body in bodies:
        await post_event(api, body)
    runs = [await wait_until(lambda b=b: _final_run(b["eventId"])) for b in bodies]
    assert sorted(r.status for r in runs[:3]) == ["completed", "completed", "throttled"]
    throttled = next(r for r in runs if r.status == "throttled")
    assert (throttled.reason, throttled.states["gate"].status) == ("throttled", "throttled")
    assert throttled.states["gate"].values == {"limit": 2, "window": 3600, "key": "a", "count": 2}
    assert (throttled.states["inbox"].status, throttled.states["inbox"].delivery) == ("skipped", None)
    assert runs[3].status == "completed"  # another key has its own budget


async def _final_run(event_id: str) -> Any:
    run = await run_of(event_id)
    return run if run is not None and run.status in ("completed", "throttled") else None


async def test_a_second_send_on_a_channel_the_run_used_is_skipped_not_sent_twice(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    await subscriber("wf-twice")
    await publish(
        "wf.twice",
        [
            {"id": "first", "type": "send", "config": {"channel": "email"}},
            {"id": "again", "type": "send", "config": {"channel": "email"}},
        ],
    )
    body = event_body(eventType="wf.twice", userId="wf-twice")
    await post_event(api, body)
    run = await wait_until(ended(body["eventId"]))
    again = run.states["again"]
    assert (again.status, again.reason, again.delivery) == ("skipped", "channel_already_used", None)
    await wait_until(lambda: len(smtp_sink.messages) == 1)


async def test_throttle_holds_with_two_workflow_workers_taking_runs_at_once(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await subscriber("wf-throttle-race")
    await publish(
        "wf.race",
        [
            {"id": "gate", "type": "throttle", "config": {"limit": 3, "window": 3600}},
            {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
        ],
    )
    stop = asyncio.Event()
    # A second consumer on the same durable: the runs are split between two workers.
    second = asyncio.create_task(run_stage(stage_spec("workflow", names()), stop, batch_size=2))
    bodies = [event_body(eventType="wf.race", userId="wf-throttle-race") for _ in range(30)]
    response = await sync_to_async(api.post)("/api/events/batch", {"events": bodies}, format="json")
    assert response.status_code == 200 and response.json()["accepted"] == 30
    try:
        runs = [await wait_until(lambda b=b: _final_run(b["eventId"])) for b in bodies]
    finally:
        stop.set()
        await asyncio.wait_for(second, timeout=15)
    assert sorted(r.status for r in runs).count("completed") == 3
    assert {r.status for r in runs} == {"completed", "throttled"}
