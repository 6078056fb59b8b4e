"""The client's inbox socket against a live Relay: the pushed message arrives, its own
actions come back as counts, and a bad token is a typed error."""

from __future__ import annotations

import asyncio

import pytest
from relay_client import AsyncRelay, Unauthorized

from tests.client.conftest import next_of

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_socket_receives_a_pushed_message_and_its_own_counts(pipeline: None, relay: AsyncRelay) -> None:
    await relay.identify("live-user")
    token = (await relay.subscriber_token("live-user"))["token"]

    async with relay.inbox_socket(token) as socket:
        hello = await next_of(socket, "hello")
        assert (hello["userId"], hello["unreadCount"]) == ("live-user", 0)

        accepted = await relay.trigger(
            "account", user_id="live-user", channels=["in_app"], data={"title": "Hi", "body": "There"}
        )
        pushed = await next_of(socket, "notification")
        message = pushed["message"]
        assert (message["title"], message["body"], pushed["unreadCount"]) == ("Hi", "There", 1)

        await socket.mark_read([message["id"]])
        counts = await next_of(socket, "counts")
        assert counts["unreadCount"] == 0
        assert counts["change"]["ids"] == [message["id"]]

    detail = await relay.get_event(accepted["eventId"])
    assert detail["notifications"][0]["deliveries"][0]["channel"] == "in_app"


async def test_a_bad_token_is_unauthorized(relay: AsyncRelay) -> None:
    async with relay.inbox_socket("not-a-token") as socket:
        with pytest.raises(Unauthorized):
            await asyncio.wait_for(socket.__anext__(), timeout=10)
