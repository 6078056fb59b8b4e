"""Subscriber A's socket never receives, reads or changes subscriber B's messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async

from notifications.models import ApiKey
from realtime.models import InboxMessage
from tests.factories import InboxMessageFactory, SubscriberFactory
from tests.realtime.helpers import token_for
from tests.realtime.socket_client import inbox_socket

pytestmark = [pytest.mark.django_db(transaction=True)]


@sync_to_async
def two_subscribers() -> tuple[str, str, int]:
    """Tokens of alice and bob, and the id of a message in bob's inbox."""
    alice, bob = SubscriberFactory(user_id="alice"), SubscriberFactory(user_id="bob")
    InboxMessageFactory(subscriber=alice)
    return token_for("alice"), token_for("bob"), InboxMessageFactory(subscriber=bob).id


async def test_a_new_message_reaches_only_its_subscribers_sockets(
    pipeline: None, asgi_server: str, event_body: Callable[..., dict[str, Any]]
) -> None:
    alice_token, bob_token, _ = await two_subscribers()
    _, key = await sync_to_async(ApiKey.issue)("isolation")
    async with inbox_socket(asgi_server, alice_token) as alice, inbox_socket(asgi_server, bob_token) as bob:
        await alice.receive()
        await bob.receive()
        async with httpx.AsyncClient(base_url=f"http://{asgi_server}") as http:
            response = await http.post(
                "/api/events",
                json=event_body(userId="bob", channels=["in_app"], data={"title": "For bob only"}),
                headers={"Authorization": f"Bearer {key}"},
            )
        assert response.status_code == 202

        pushed = await bob.receive_type("notification")
        assert pushed["message"]["title"] == "For bob only"
        assert (await alice.next_after_ping())["type"] == "pong"


async def test_a_socket_cannot_mark_or_archive_another_subscribers_message(asgi_server: str) -> None:
    alice_token, bob_token, bob_message = await two_subscribers()
    async with inbox_socket(asgi_server, alice_token) as alice, inbox_socket(asgi_server, bob_token) as bob:
        await alice.receive()
        await bob.receive()
        for action in ("mark_read", "mark_seen", "archive"):
            await alice.send(type=action, id=bob_message)
            assert (await alice.receive())["error"] == "not_found"
        await alice.send(type="mark_all_read")
        assert (await alice.receive_type("counts"))["unreadCount"] == 0
        assert (await bob.next_after_ping())["type"] == "pong"

    message = await sync_to_async(InboxMessage.objects.get)(pk=bob_message)
    assert (message.read_at, message.seen_at, message.archived_at) == (None, None, None)


async def test_the_hello_of_one_subscriber_lists_none_of_anothers_messages(asgi_server: str) -> None:
    alice_token, _, bob_message = await two_subscribers()
    async with inbox_socket(asgi_server, alice_token) as alice:
        hello = await alice.receive()
    assert bob_message not in [m["id"] for m in hello["messages"]]
    assert hello["totalCount"] == 1
