"""Workflow runs under redelivery and kill -9: each step advances once, waits outlive processes."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from realtime.models import InboxMessage
from tests.conftest import purge_streams, start_manage, wait_until
from tests.reliability.conftest import stages
from tests.smtp_sink import SmtpSink
from tests.workflows.support import (
    deliveries_of,
    ended,
    post_event,
    publish,
    publish_run_messages,
    run_of,
    subscriber,
    workflow_consumer_idle,
)
from workflows.models import Wait

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]


async def test_run_messages_handled_again_advance_no_step_twice(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    await subscriber("wf-again")
    await publish(
        "wf.again",
        [
            {"id": "mail", "type": "send", "config": {"channel": "email"}},
            {"id": "pause", "type": "delay", "config": {"duration": 2}},
            {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
        ],
    )
    body = event_body(eventType="wf.again", userId="wf-again")
    await post_event(api, body)
    waiting = await wait_until(ended(body["eventId"], "waiting"))
    await publish_run_messages(waiting.pk, 5)  # while it waits: the wait is not due, nothing moves
    await wait_until(workflow_consumer_idle)
    still = await run_of(body["eventId"])
    assert (
        still.status == "waiting"
        and still.states["pause"].waiting_until == waiting.states["pause"].waiting_until
    )
    assert set(await deliveries_of(body["eventId"])) == {"email"}

    done = await wait_until(ended(body["eventId"]))
    await publish_run_messages(done.pk, 5)  # after it ended: nothing is sent again
    await wait_until(workflow_consumer_idle)
    assert [(s.status, s.delivery_id) for s in (await run_of(body["eventId"])).states.values()] == [
        (s.status, s.delivery_id) for s in done.states.values()
    ]
    assert set(await deliveries_of(body["eventId"])) == {"email", "in_app"}
    await wait_until(lambda: len(smtp_sink.messages) >= 1)
    inbox = await sync_to_async(InboxMessage.objects.filter(subscriber__user_id="wf-again").count)()
    assert (len(smtp_sink.messages), inbox) == (1, 1)


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=20)


def _start_workflow_processes() -> list[subprocess.Popen[bytes]]:
    return [start_manage("consume", "workflow"), start_manage("scheduler", RELAY_SCHEDULER_INTERVAL="0.2")]


async def test_a_wait_outlives_kill_9_of_the_workflow_stage_and_the_scheduler(
    streams: None, api: APIClient, event_body: EventBody
) -> None:
    await purge_streams()
    await subscriber("wf-killed")
    await publish(
        "wf.killed",
        [
            {"id": "pause", "type": "delay", "config": {"duration": 2}},
            {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
        ],
    )
    body = event_body(eventType="wf.killed", userId="wf-killed")
    async with stages("ingest", "route", "in_app"):  # not workflow: it runs as a process here
        processes = _start_workflow_processes()
        try:
            await post_event(api, body)
            waiting = await wait_until(ended(body["eventId"], "waiting"), timeout=60)
        finally:
            for process in processes:
                _kill(process)
        # Nothing but the database holds the wait now.
        assert await sync_to_async(Wait.objects.filter(run_id=waiting.pk).count)() == 1
        processes = _start_workflow_processes()
        try:
            run = await wait_until(ended(body["eventId"]), timeout=60)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=20)
    assert [(s.status, s.reason) for s in run.states.values()] == [("done", "elapsed"), ("done", "")]
    assert await sync_to_async(InboxMessage.objects.filter(subscriber__user_id="wf-killed").count)() == 1
    await purge_streams()
