"""The WebSocket protocol against the real ASGI app: hello, actions, counts in every tab, errors."""

from __future__ import annotations

from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings

from notifications.models import Subscriber
from realtime.models import InboxMessage
from tests.factories import InboxMessageFactory, SubscriberFactory
from tests.realtime.helpers import client_with, expired_token_for, token_for
from tests.realtime.socket_client import inbox_socket

pytestmark = [pytest.mark.django_db(transaction=True)]


@sync_to_async
def subscriber_with_messages(user_id: str, count: int) -> tuple[str, list[int]]:
    subscriber = SubscriberFactory(user_id=user_id)
    ids = [InboxMessageFactory(subscriber=subscriber).id for _ in range(count)]
    return token_for(user_id), ids


@sync_to_async
def stored(message_id: int) -> InboxMessage:
    return InboxMessage.objects.get(pk=message_id)


async def test_hello_carries_counts_and_the_latest_page(asgi_server: str) -> None:
    token, ids = await subscriber_with_messages("alice", 3)
    async with inbox_socket(asgi_server, token) as socket:
        hello = await socket.receive()
    assert hello["type"] == "hello"
    assert hello["userId"] == "alice"
    assert (hello["unreadCount"], hello["unseenCount"], hello["totalCount"]) == (3, 3, 3)
    assert [m["id"] for m in hello["messages"]] == sorted(ids, reverse=True)


async def test_token_as_websocket_subprotocol_is_accepted_and_echoed(asgi_server: str) -> None:
    token, _ = await subscriber_with_messages("alice", 1)
    async with inbox_socket(asgi_server, token, via="subprotocol") as socket:
        assert socket.connection.subprotocol == f"token.{token}"
        assert (await socket.receive())["unreadCount"] == 1


async def test_bad_tokens_close_the_socket_with_4401(asgi_server: str) -> None:
    """One server for every kind of bad token: a closed socket's Redis receive ends slowly."""
    alice = await sync_to_async(SubscriberFactory)(user_id="alice")
    token = await sync_to_async(token_for)("alice")
    expired = await sync_to_async(expired_token_for)(alice, settings.RELAY_SUBSCRIBER_TOKEN_MAX_AGE + 5)
    base = f"ws://{asgi_server}/ws/inbox/"
    urls = {
        "missing": base,
        "garbage": f"{base}?token=not-a-token",
        "tampered": f"{base}?token={token[:-3]}abc",
        "expired": f"{base}?token={expired}",
    }
    for kind, url in urls.items():
        assert await close_code_of(url) == 4401, kind
    await sync_to_async(Subscriber.objects.filter(pk=alice.pk).delete)()
    assert await close_code_of(f"{base}?token={token}") == 4401, "deleted subscriber"


async def close_code_of(url: str) -> int | None:
    async with websockets.connect(url) as connection:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await connection.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_mark_read_from_one_tab_updates_counts_in_every_tab(asgi_server: str) -> None:
    token, (first, second) = await subscriber_with_messages("alice", 2)
    async with inbox_socket(asgi_server, token) as tab1, inbox_socket(asgi_server, token) as tab2:
        await tab1.receive()
        await tab2.receive()

        await tab1.send(type="mark_read", id=first)

        for tab in (tab1, tab2):
            counts = await tab.receive_type("counts")
            assert (counts["unreadCount"], counts["unseenCount"], counts["totalCount"]) == (1, 1, 2)
            assert counts["change"]["action"] == "read"
            assert counts["change"]["ids"] == [first]
    assert (await stored(first)).read_at is not None
    assert (await stored(second)).read_at is None


async def test_seen_archive_and_mark_all_read_over_the_socket(asgi_server: str) -> None:
    token, (first, second, third) = await subscriber_with_messages("alice", 3)
    async with inbox_socket(asgi_server, token) as socket:
        await socket.receive()
        await socket.send(type="mark_seen", ids=[first, second])
        seen = await socket.receive_type("counts")
        assert (seen["unreadCount"], seen["unseenCount"], seen["change"]["ids"]) == (3, 1, [first, second])

        await socket.send(type="archive", id=third)
        archived = await socket.receive_type("counts")
        assert (archived["unreadCount"], archived["totalCount"]) == (2, 2)

        await socket.send(type="mark_all_read")
        all_read = await socket.receive_type("counts")
        assert (all_read["change"]["action"], all_read["change"]["ids"]) == ("read_all", [first, second])
        assert (all_read["unreadCount"], all_read["unseenCount"]) == (0, 0)
    assert (await stored(third)).read_at is None


async def test_a_change_made_through_the_api_reaches_open_sockets(asgi_server: str) -> None:
    token, (message,) = await subscriber_with_messages("alice", 1)
    async with inbox_socket(asgi_server, token) as socket:
        await socket.receive()
        response = await sync_to_async(lambda: client_with(token).post(f"/api/inbox/{message}/archive"))()
        assert response.status_code == 200
        counts = await socket.receive_type("counts")
    assert counts["change"]["action"] == "archive"
    assert counts["totalCount"] == 0


async def test_malformed_client_messages_get_errors_and_keep_the_socket_open(asgi_server: str) -> None:
    token, (message,) = await subscriber_with_messages("alice", 1)
    async with inbox_socket(asgi_server, token) as socket:
        await socket.receive()
        await socket.connection.send("{not json")
        assert (await socket.receive())["error"] == "invalid_json"
        await socket.send(type="delete_everything", requestId=7)
        assert await socket.receive() == {"type": "error", "error": "unknown_type", "requestId": 7}
        malformed = [{"id": "1"}, {"ids": []}, {"ids": [True]}, {}, {"ids": list(range(1, 200))}]
        malformed.append({"id": 2**70})
        for bad in malformed:
            await socket.send(type="mark_read", **bad)
            assert (await socket.receive())["error"] == "invalid_ids"
        await socket.send(type="mark_read", id=10**12)
        assert (await socket.receive())["error"] == "not_found"
        assert (await socket.next_after_ping())["type"] == "pong"
    assert (await stored(message)).read_at is None


async def test_an_open_socket_closes_with_4401_when_its_token_expires(
    asgi_server: str, settings: Any
) -> None:
    token, _ = await subscriber_with_messages("alice", 1)
    settings.RELAY_SUBSCRIBER_TOKEN_MAX_AGE = 5  # the token above is already some way into it
    async with inbox_socket(asgi_server, token) as socket:
        assert (await socket.receive())["type"] == "hello"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.receive(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_socket_sending_actions_too_fast_is_refused_with_retry_after(
    asgi_server: str, settings: Any
) -> None:
    settings.RELAY_SOCKET_ACTION_RATE, settings.RELAY_SOCKET_ACTION_BURST = 0.5, 2
    token, (first, second, third) = await subscriber_with_messages("alice", 3)
    async with inbox_socket(asgi_server, token) as socket:
        await socket.receive()
        for message in (first, second):
            await socket.send(type="mark_read", id=message)
            assert (await socket.receive_type("counts"))["change"]["ids"] == [message]
        await socket.send(type="mark_read", id=third, requestId="r3")
        refused = await socket.receive()
        assert refused | {"retryAfter": 0} == {
            "type": "error",
            "error": "rate_limited",
            "requestId": "r3",
            "retryAfter": 0,
        }
        assert 0 < refused["retryAfter"] <= 2
        await socket.send(type="mark_read", ids=[])  # malformed: answered, costs no token
        assert (await socket.receive())["error"] == "invalid_ids"
        assert (await socket.next_after_ping())["type"] == "pong", "the socket stays open"
    assert (await stored(third)).read_at is None
    assert (await stored(second)).read_at is not None
