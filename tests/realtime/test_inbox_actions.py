"""Action buttons end to end: a template or a workflow's send step gives the message its
buttons; completing one over HTTP records the time, reads the message and tells every socket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from realtime import counters
from realtime.models import InboxMessage
from templates_admin.catalog import catalog
from templates_admin.models import NotificationTemplate
from tests.conftest import wait_until
from tests.realtime.helpers import client_with, token_for
from tests.realtime.socket_client import inbox_socket
from tests.workflows.support import ended, post_event, publish, subscriber

pytestmark = [pytest.mark.django_db(transaction=True)]

BUTTONS = {
    "primary": {"label": "Accept {{ team }}", "key": "accept"},
    "secondary": {"label": "Details", "url": "https://example.com/invites/{{ invite }}"},
}


@sync_to_async
def invite_template() -> None:
    NotificationTemplate.objects.create(
        event_type="invite.sent", channel="in_app", locale="en", subject="Join {{ team }}", actions=BUTTONS
    )
    catalog.invalidate()


@sync_to_async
def inbox_message_of(user_id: str) -> InboxMessage | None:
    return InboxMessage.objects.filter(subscriber__user_id=user_id).first()


async def test_a_template_gives_buttons_and_completing_one_reads_the_message_on_every_socket(
    pipeline: None, asgi_server: str, api: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    await subscriber("ada")
    await invite_template()
    token = await sync_to_async(token_for)("ada")
    ada = client_with(token)
    async with inbox_socket(asgi_server, token) as tab1, inbox_socket(asgi_server, token) as tab2:
        await tab1.receive()
        await tab2.receive()
        body = event_body(
            eventType="invite.sent", userId="ada", channels=["in_app"], data={"team": "Core", "invite": 7}
        )
        await post_event(api, body)
        pushed = (await tab1.receive_type("notification"))["message"]
        assert pushed["actions"] == [
            {"key": "accept", "label": "Accept Core", "variant": "primary", "completedAt": None},
            {
                "key": "secondary",
                "label": "Details",
                "url": "https://example.com/invites/7",
                "variant": "secondary",
                "completedAt": None,
            },
        ]

        done = await sync_to_async(ada.post)(f"/api/inbox/{pushed['id']}/actions/accept")

        assert done.status_code == 200, done.content
        message = done.json()["message"]
        completed_at = message["actions"][0]["completedAt"]
        assert completed_at is not None and message["actions"][1]["completedAt"] is None
        assert message["readAt"] is not None and done.json()["unreadCount"] == 0
        for tab in (tab1, tab2):
            counts = await tab.receive_type("counts")
            assert counts["change"]["action"] == "action"
            assert counts["change"]["ids"] == [pushed["id"]]
            assert (counts["change"]["key"], counts["change"]["completedAt"]) == ("accept", completed_at)
            assert counts["unreadCount"] == 0

    # Completing again keeps the first time; a link button completes by its slot name.
    again = (await sync_to_async(ada.post)(f"/api/inbox/{pushed['id']}/actions/accept")).json()
    assert again["message"]["actions"][0]["completedAt"] == completed_at
    link = (await sync_to_async(ada.post)(f"/api/inbox/{pushed['id']}/actions/secondary")).json()
    assert link["message"]["actions"][1]["completedAt"] is not None
    missing = await sync_to_async(ada.post)(f"/api/inbox/{pushed['id']}/actions/decline")
    assert missing.status_code == 404
    assert "decline" in missing.json()["detail"]
    assert (await sync_to_async(counters.repair)()).drift == []


async def test_a_workflow_send_step_gives_its_own_buttons(
    workflow_pipeline: None, api: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    await subscriber("grace")
    await invite_template()
    await publish(
        "invite.sent",
        [
            {
                "id": "inbox",
                "type": "send",
                "config": {"channel": "in_app", "actions": {"primary": {"label": "Open", "key": "open"}}},
            }
        ],
    )
    await post_event(
        api, event_body(eventType="invite.sent", userId="grace", channels=None, data={"team": "X"})
    )

    message = await wait_until(lambda: inbox_message_of("grace"))

    assert message.actions == [{"key": "open", "label": "Open", "variant": "primary", "completedAt": None}]
    assert message.title == "Join X"


async def test_a_workflow_send_step_refuses_buttons_off_the_inbox(api: APIClient) -> None:
    steps = [
        {
            "id": "mail",
            "type": "send",
            "config": {"channel": "email", "actions": {"primary": {"label": "Go", "key": "go"}}},
        }
    ]
    response = await sync_to_async(api.put)(
        "/api/workflows/invite.sent", {"name": "Invite", "steps": steps}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["steps"]["0"]["config"]["actions"] == [
        "Only in_app messages have action buttons."
    ]


async def test_completing_a_button_reads_the_message_for_a_waiting_workflow(
    workflow_pipeline: None, api: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    """The step waits 120 s; the run ends long before only because the completion read it."""
    await subscriber("linus")
    buttons = {"primary": {"label": "Approve", "key": "approve"}}
    await publish(
        "review.requested",
        [
            {"id": "inbox", "type": "send", "config": {"channel": "in_app", "actions": buttons}},
            {"id": "read", "type": "waitFor", "config": {"step": "inbox", "until": "read", "timeout": 120}},
        ],
    )
    body = event_body(eventType="review.requested", userId="linus", channels=None)
    await post_event(api, body)
    await wait_until(ended(body["eventId"], "waiting"))
    message = await wait_until(lambda: inbox_message_of("linus"))

    done = await sync_to_async(api.post)(f"/api/inbox/{message.id}/actions/approve?userId=linus")

    assert done.status_code == 200, done.content
    run = await wait_until(ended(body["eventId"]), timeout=60)
    assert (run.states["read"].status, run.states["read"].reason) == ("done", "read")
