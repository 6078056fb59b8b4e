"""Each step type run through the real pipeline: API -> ingest -> route -> workflow -> deliver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import wait_until
from tests.smtp_sink import SmtpSink
from tests.workflows.conftest import deliveries_of, ended, post_event, publish, subscriber

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]


async def test_send_steps_deliver_on_their_channels_and_the_run_completes(
    flow: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
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
