"""waitFor: a read over the API or the WebSocket ends the wait at once; else the timeout does.

The waits below are long (120 s) and each test gives up well before (60 s): a run that
completes in time was woken by the read, not by its timeout.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from notifications.subscriber_tokens import mint_subscriber_token
from realtime.models import InboxMessage
from tests.conftest import wait_until
from tests.smtp_sink import SmtpSink
from tests.workflows.support import ended, post_event, publish, run_of, subscriber

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]
LONG_WAIT = 120
GIVE_UP = 60

STEPS = [
    {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
    {"id": "read", "type": "waitFor", "config": {"step": "inbox", "until": "read", "timeout": LONG_WAIT}},
    {
        "id": "mail",
        "type": "send",
        "config": {"channel": "email"},
        "if": {"==": [{"var": "steps.inbox.read"}, False]},
    },
]


async def _waiting_message(event_id: str) -> int:
    """The run's in-app message id, once the run waits for it to be read."""
    await wait_until(ended(event_id, "waiting"))
    run = await run_of(event_id)
    assert run is not None and run.states["read"].status == "waiting"
    delivery_id = run.states["inbox"].delivery_id

    @sync_to_async
    def message() -> int | None:
        return InboxMessage.objects.filter(delivery_id=delivery_id).values_list("pk", flat=True).first()

    return int(await wait_until(message))


async def test_a_read_over_the_api_ends_the_wait_at_once(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    await subscriber("wf-read-api")
    await publish("wf.readapi", STEPS)
    body = event_body(eventType="wf.readapi", userId="wf-read-api")
    await post_event(api, body)
    message_id = await _waiting_message(body["eventId"])
    response = await sync_to_async(api.post)(f"/api/inbox/{message_id}/read?userId=wf-read-api")
    assert response.status_code == 200, response.content
    run = await wait_until(ended(body["eventId"]), timeout=GIVE_UP)
    assert (run.states["read"].status, run.states["read"].reason) == ("done", "read")
    assert (run.states["mail"].status, run.states["mail"].delivery) == ("skipped", None)
    assert run.states["mail"].values["condition"] == {"steps.inbox.read": True}
    assert smtp_sink.messages == []


async def test_a_read_over_the_websocket_ends_the_wait_at_once(
    workflow_pipeline: None, asgi_server: str, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    reader = await subscriber("wf-read-ws")
    token = await sync_to_async(mint_subscriber_token)(reader)
    await publish("wf.readws", STEPS)
    body = event_body(eventType="wf.readws", userId="wf-read-ws")
    async with websockets.connect(f"ws://{asgi_server}/ws/inbox/?token={token}") as socket:
        assert json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] == "hello"
        await post_event(api, body)
        message_id = await _waiting_message(body["eventId"])
        await socket.send(json.dumps({"type": "mark_read", "id": message_id}))
        run = await wait_until(ended(body["eventId"]), timeout=GIVE_UP)
    assert (run.states["read"].status, run.states["read"].reason) == ("done", "read")
    assert run.states["mail"].status == "skipped"
    assert smtp_sink.messages == []


async def test_an_unread_message_waits_out_the_timeout(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    await subscriber("wf-unread")
    steps = [dict(step) for step in STEPS]
    steps[1] = {**steps[1], "config": {**steps[1]["config"], "until": "seen", "timeout": 1}}
    await publish("wf.unread", steps)
    body = event_body(eventType="wf.unread", userId="wf-unread")
    await post_event(api, body)
    run = await wait_until(ended(body["eventId"]))
    assert (run.states["read"].status, run.states["read"].reason) == ("done", "timeout")
    assert run.states["mail"].values["condition"] == {"steps.inbox.read": False}
    await wait_until(lambda: len(smtp_sink.messages) == 1)
