"""Inbox v2 through the client against a live Relay: snooze and unsnooze, action buttons."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from relay_client import AsyncRelay, BadRequest, NotFound

from tests.client.conftest import next_of
from tests.factories import InboxMessageFactory, SubscriberFactory

pytestmark = [pytest.mark.django_db(transaction=True)]

BUTTONS = [{"key": "accept", "label": "Accept", "variant": "primary", "completedAt": None}]


@sync_to_async
def messages_of(user_id: str, count: int) -> list[int]:
    subscriber = SubscriberFactory(user_id=user_id)
    return [m.id for m in InboxMessageFactory.create_batch(count, subscriber=subscriber, actions=BUTTONS)]


async def test_snooze_and_unsnooze(relay: AsyncRelay) -> None:
    first, second = await messages_of("snoozer", 2)

    snoozed = await relay.snooze(first, duration="1h", user_id="snoozer")
    assert snoozed["message"]["snoozedUntil"] is not None
    assert snoozed["totalCount"] == 1
    listed = await relay.inbox(user_id="snoozer", status="snoozed")
    assert [m["id"] for m in listed["messages"]] == [first]
    with pytest.raises(BadRequest) as refused:
        await relay.snooze(second, duration="10s", user_id="snoozer")
    assert "duration" in refused.value.errors

    back = await relay.unsnooze(first, user_id="snoozer")
    assert back["message"]["snoozedUntil"] is None
    assert back["totalCount"] == 2


async def test_complete_an_action_button(relay: AsyncRelay) -> None:
    (message,) = await messages_of("clicker", 1)

    done = await relay.complete_action(message, "accept", user_id="clicker")
    (button,) = done["message"].get("actions", [])
    assert button["completedAt"] is not None
    assert done["message"]["readAt"] is not None
    with pytest.raises(NotFound):
        await relay.complete_action(message, "no-such-button", user_id="clicker")


async def test_snooze_over_the_socket(relay: AsyncRelay) -> None:
    (message,) = await messages_of("socket-snoozer", 1)
    token = (await relay.subscriber_token("socket-snoozer"))["token"]

    async with relay.inbox_socket(token) as socket:
        hello = await next_of(socket, "hello")
        assert hello["totalCount"] == 1
        await socket.snooze(message, duration=30)
        refused = await next_of(socket, "error")
        assert (refused.get("error"), set(refused.get("errors", {}))) == ("invalid_snooze", {"duration"})

        await socket.snooze(message, duration="1h")
        counts = await next_of(socket, "counts")
        assert (counts["change"]["action"], counts["change"]["ids"]) == ("snooze", [message])
        assert counts["totalCount"] == 0
        await socket.unsnooze([message])
        assert (await next_of(socket, "counts"))["totalCount"] == 1
