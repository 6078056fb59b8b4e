"""An event's ``metadata.tags`` and ``priority`` reach its in-app message and the counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from realtime.models import InboxMessage
from tests.conftest import wait_until
from tests.factories import SubscriberFactory
from tests.realtime.helpers import client_with, token_for
from workflows import services as workflow_services

EventBody = Callable[..., dict[str, Any]]


async def test_event_tags_and_priority_are_stored_and_counted(
    pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await sync_to_async(SubscriberFactory)(user_id="tagged")
    body = event_body(
        userId="tagged",
        channels=["in_app"],
        priority="urgent",
        metadata={"tags": ["billing", "team", "billing"]},
    )
    assert (await sync_to_async(api.post)("/api/events", body, format="json")).status_code == 202

    stored = await wait_until(
        sync_to_async(lambda: InboxMessage.objects.filter(subscriber__user_id="tagged").first())
    )

    assert (stored.tags, stored.priority) == (["billing", "team"], "urgent")
    client = await sync_to_async(lambda: client_with(token_for("tagged")))()
    counts = (
        await sync_to_async(client.get)("/api/inbox/counts", {"tabs": "b:tag=billing,u:priority=urgent"})
    ).json()
    assert counts["unreadByPriority"]["urgent"] == 1
    assert counts["tabs"] == {
        "b": {"totalCount": 1, "unreadCount": 1, "unseenCount": 1},
        "u": {"totalCount": 1, "unreadCount": 1, "unseenCount": 1},
    }
    listed = (await sync_to_async(client.get)("/api/inbox", {"tags": "team"})).json()["messages"]
    assert [(m["tags"], m["priority"]) for m in listed] == [(["billing", "team"], "urgent")]


async def test_a_workflow_send_steps_tags_come_before_the_events(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await sync_to_async(SubscriberFactory)(user_id="wf-tagged")
    steps = [{"id": "inbox", "type": "send", "config": {"channel": "in_app", "tags": ["comments", "team"]}}]
    await sync_to_async(workflow_services.publish)("wf.tagged", {"name": "Tagged", "steps": steps})
    body = event_body(eventType="wf.tagged", userId="wf-tagged", metadata={"tags": ["team", "urgent-ish"]})
    body.pop("channels")
    assert (await sync_to_async(api.post)("/api/events", body, format="json")).status_code == 202

    stored = await wait_until(
        sync_to_async(lambda: InboxMessage.objects.filter(subscriber__user_id="wf-tagged").first())
    )

    assert stored.tags == ["comments", "team", "urgent-ish"]


@pytest.mark.django_db
@pytest.mark.parametrize("tags", ["billing", [1], ["a,b"], [""], ["x" * 65], [f"t{i}" for i in range(21)]])
def test_malformed_metadata_tags_are_a_400(api: APIClient, event_body: EventBody, tags: Any) -> None:
    response = api.post(
        "/api/events", event_body(channels=["in_app"], metadata={"tags": tags}), format="json"
    )
    assert response.status_code == 400
    assert "metadata" in response.json()["errors"]
