"""The inbox API over HTTP: listing, cursors, filters, counts and state changes."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notifications.models import ApiKey
from realtime.models import InboxMessage
from tests.factories import InboxMessageFactory, SubscriberFactory
from tests.realtime.helpers import client_with, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> APIClient:
    SubscriberFactory(user_id="alice")
    return client_with(token_for("alice"))


def messages_of(user_id: str, count: int, **fields: Any) -> list[InboxMessage]:
    subscriber = SubscriberFactory(user_id=user_id)
    return [InboxMessageFactory(subscriber=subscriber, **fields) for _ in range(count)]


def test_inbox_lists_own_messages_newest_first_with_counts(alice: APIClient) -> None:
    first, second = messages_of("alice", 2)

    body = alice.get("/api/inbox").json()

    assert [m["id"] for m in body["messages"]] == [second.id, first.id]
    assert body["messages"][0] == {
        "id": second.id,
        "deliveryId": second.delivery_id,
        "eventType": "comment.created",
        "title": second.title,
        "body": "Someone replied to your comment.",
        "actionUrl": "https://example.com/comments/1",
        "data": {},
        "createdAt": second.created_at.isoformat(),
        "seenAt": None,
        "readAt": None,
        "archivedAt": None,
        "snoozedUntil": None,
        "tags": [],
        "priority": "normal",
        "actions": [],
    }
    assert (body["unreadCount"], body["unseenCount"], body["totalCount"]) == (2, 2, 2)
    assert body["nextCursor"] is None


def test_cursor_pagination_walks_every_message_once_while_new_ones_arrive(alice: APIClient) -> None:
    created = messages_of("alice", 7)
    seen: list[int] = []
    page = alice.get("/api/inbox", {"limit": 3}).json()
    seen += [m["id"] for m in page["messages"]]
    messages_of("alice", 2)  # arrive at the top while the client is paging down

    while page["nextCursor"]:
        page = alice.get("/api/inbox", {"limit": 3, "cursor": page["nextCursor"]}).json()
        seen += [m["id"] for m in page["messages"]]

    assert seen == sorted((m.id for m in created), reverse=True)


def test_status_filters_select_unread_read_and_archived(alice: APIClient) -> None:
    unread, read, archived = messages_of("alice", 3)
    alice.post(f"/api/inbox/{read.id}/read")
    alice.post(f"/api/inbox/{archived.id}/archive")

    def ids(status: str) -> list[int]:
        return [m["id"] for m in alice.get("/api/inbox", {"status": status}).json()["messages"]]

    assert ids("unread") == [unread.id]
    assert ids("read") == [read.id]
    assert ids("archived") == [archived.id]
    assert ids("inbox") == [read.id, unread.id]
    assert ids("all") == [archived.id, read.id, unread.id]


def test_event_type_filter(alice: APIClient) -> None:
    (comment,) = messages_of("alice", 1)
    (order,) = messages_of("alice", 1, event_type="order.shipped")
    body = alice.get("/api/inbox", {"eventType": "order.shipped"}).json()
    assert [m["id"] for m in body["messages"]] == [order.id]
    assert comment.id not in [m["id"] for m in body["messages"]]


def test_mark_read_sets_read_and_seen_and_lowers_the_counts(alice: APIClient) -> None:
    message, _ = messages_of("alice", 2)

    response = alice.post(f"/api/inbox/{message.id}/read")

    assert response.status_code == 200
    body = response.json()
    assert body["message"]["readAt"] is not None
    assert body["message"]["seenAt"] == body["message"]["readAt"]
    assert (body["unreadCount"], body["unseenCount"]) == (1, 1)
    assert alice.get("/api/inbox/counts").json() == {
        "unreadCount": 1,
        "unseenCount": 1,
        "totalCount": 2,
        "unreadByPriority": {"low": 0, "normal": 1, "high": 0, "urgent": 0},
    }


def test_mark_read_twice_keeps_the_first_read_time(alice: APIClient) -> None:
    (message,) = messages_of("alice", 1)
    first = alice.post(f"/api/inbox/{message.id}/read").json()["message"]["readAt"]
    again = alice.post(f"/api/inbox/{message.id}/read")
    assert again.status_code == 200
    assert again.json()["message"]["readAt"] == first


def test_mark_seen_lowers_unseen_but_not_unread(alice: APIClient) -> None:
    (message,) = messages_of("alice", 1)
    body = alice.post(f"/api/inbox/{message.id}/seen").json()
    assert body["message"]["seenAt"] is not None and body["message"]["readAt"] is None
    assert (body["unreadCount"], body["unseenCount"]) == (1, 0)


def test_archive_takes_a_message_out_of_the_inbox_and_its_counts(alice: APIClient) -> None:
    message, kept = messages_of("alice", 2)
    body = alice.post(f"/api/inbox/{message.id}/archive").json()
    assert body["message"]["archivedAt"] is not None
    assert (body["unreadCount"], body["totalCount"]) == (1, 1)
    assert [m["id"] for m in alice.get("/api/inbox").json()["messages"]] == [kept.id]


def test_read_all_marks_every_unread_inbox_message_and_leaves_the_archive(alice: APIClient) -> None:
    *_, archived = messages_of("alice", 3)
    alice.post(f"/api/inbox/{archived.id}/archive")

    body = alice.post("/api/inbox/read-all").json()

    assert (body["updated"], body["unreadCount"], body["unseenCount"], body["totalCount"]) == (2, 0, 0, 2)
    archived.refresh_from_db()
    assert archived.read_at is None
    assert alice.post("/api/inbox/read-all").json()["updated"] == 0


def test_unknown_message_is_404_and_unknown_action_is_404(alice: APIClient) -> None:
    (message,) = messages_of("alice", 1)
    assert alice.post("/api/inbox/999999999/read").status_code == 404
    assert alice.post(f"/api/inbox/{message.id}/delete").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [({"status": "bogus"}, "status"), ({"cursor": "not-a-cursor"}, "cursor"), ({"limit": 0}, "limit")],
)
def test_bad_query_parameters_get_field_errors(alice: APIClient, query: dict[str, Any], field: str) -> None:
    response = alice.get("/api/inbox", query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_api_key_names_the_subscriber_with_user_id(api_key: str) -> None:
    (message,) = messages_of("bob", 1)
    server = client_with(api_key)

    assert server.get("/api/inbox").status_code == 400
    assert server.get("/api/inbox/counts", {"userId": "bo\x00b"}).status_code == 400
    assert server.get("/api/inbox", {"userId": "nobody"}).status_code == 404
    listed = server.get("/api/inbox", {"userId": "bob"}).json()
    assert [m["id"] for m in listed["messages"]] == [message.id]
    assert server.post(f"/api/inbox/{message.id}/read?userId=bob").json()["unreadCount"] == 0


def test_api_key_without_the_scope_is_refused() -> None:
    (message,) = messages_of("bob", 1)
    _, read_only = ApiKey.issue("reader", scopes=["read"])
    reader = client_with(read_only)
    assert reader.get("/api/inbox", {"userId": "bob"}).status_code == 200
    assert reader.post(f"/api/inbox/{message.id}/read?userId=bob").status_code == 403
