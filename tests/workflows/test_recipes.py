"""README's workflow recipes, as written there, end to end: API -> NATS -> PostgreSQL -> SMTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from realtime.models import InboxMessage
from tests.conftest import wait_until
from tests.smtp_sink import SmtpSink
from tests.workflows.support import ended, post_event, subscriber
from workflows import services
from workflows.files import load_text

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]
README = Path(__file__).resolve().parents[2] / "README.md"


def recipe(name: str) -> dict[str, Any]:
    """The YAML block of README whose first line is ``# recipe: <name>``."""
    found = re.search(rf"```yaml\n# recipe: {re.escape(name)}\n(.*?)```", README.read_text(), re.S)
    assert found, f"README has no recipe {name!r}"
    return dict(load_text(found.group(1)))


@sync_to_async
def publish_recipe(name: str) -> str:
    body = recipe(name)
    services.publish(body.pop("key"), body)
    return str(recipe(name)["key"])


async def comment_for(api: APIClient, event_body: EventBody, user_id: str) -> dict[str, Any]:
    """Recipe (a) published, and one comment event posted to a new subscriber."""
    event_type = await publish_recipe("in-app-then-email")
    await subscriber(user_id)
    body = event_body(eventType=event_type, userId=user_id, data={"title": "New comment"})
    await post_event(api, body)
    return body


async def _message_of(user_id: str) -> int | None:
    return await sync_to_async(
        InboxMessage.objects.filter(subscriber__user_id=user_id).values_list("pk", flat=True).first
    )()


async def test_recipe_a_read_in_app_message_gets_no_email(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    body = await comment_for(api, event_body, "recipe-a-reader")
    message_id = await wait_until(lambda: _message_of("recipe-a-reader"), interval=0.02)
    response = await sync_to_async(api.post)(f"/api/inbox/{message_id}/read?userId=recipe-a-reader")
    assert response.status_code == 200
    run = await wait_until(ended(body["eventId"]))
    assert (run.states["mail"].status, run.states["mail"].delivery) == ("skipped", None)
    assert run.states["mail"].values == {"condition": {"steps.inbox.read": True}}
    assert smtp_sink.messages == []


async def test_recipe_a_unread_in_app_message_is_emailed_after_the_delay(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    body = await comment_for(api, event_body, "recipe-a-away")
    run = await wait_until(ended(body["eventId"]))
    assert run.states["mail"].values["condition"] == {"steps.inbox.read": False}
    assert run.states["mail"].delivery.created_at >= run.states["inbox"].delivery.created_at
    await wait_until(lambda: len(smtp_sink.messages) == 1)
    assert smtp_sink.messages[0]["To"] == "recipe-a-away@example.com"
    assert smtp_sink.messages[0]["Subject"] == "New comment"
    assert await _message_of("recipe-a-away") is not None  # the in-app message came first
