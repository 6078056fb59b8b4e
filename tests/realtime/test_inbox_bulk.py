"""``POST /api/inbox/bulk``: by filter or ids, in batches, one ``counts`` change per socket,
hard deletes, clear errors, and never another subscriber's messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient

from realtime import services
from realtime.models import InboxMessage
from tests.factories import InboxMessageFactory, SubscriberFactory
from tests.realtime.helpers import client_with, token_for
from tests.realtime.socket_client import inbox_socket


def messages_of(user_id: str, count: int, **fields: Any) -> list[InboxMessage]:
    subscriber = SubscriberFactory(user_id=user_id)
    return [InboxMessageFactory(subscriber=subscriber, **fields) for _ in range(count)]


@pytest.fixture
def alice(db: None) -> APIClient:
    SubscriberFactory(user_id="alice")
    return client_with(token_for("alice"))


def bulk(client: APIClient, body: dict[str, Any]) -> Any:
    return client.post("/api/inbox/bulk", body, format="json")


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 3, so a handful of messages takes several transactions."""
    monkeypatch.setattr(services, "BULK_BATCH", 3)


@pytest.mark.django_db
def test_read_by_filter_runs_in_batches_and_answers_the_counts(alice: APIClient, small_batches: None) -> None:
    messages_of("alice", 7, tags=["team"])
    other = messages_of("alice", 2, event_type="order.shipped")

    response = bulk(alice, {"action": "read", "filter": {"tags": ["team"]}})

    assert response.status_code == 200
    body = response.json()
    assert (body["updated"], body["unreadCount"], body["unseenCount"], body["totalCount"]) == (7, 2, 2, 9)
    assert set(InboxMessage.objects.filter(read_at=None).values_list("id", flat=True)) == {
        m.id for m in other
    }
    assert bulk(alice, {"action": "read", "filter": {"tags": ["team"]}}).json()["updated"] == 0


@pytest.mark.django_db
def test_filter_by_status_event_type_and_before(alice: APIClient) -> None:
    old_orders = messages_of("alice", 2, event_type="order.shipped")
    new_order, comment = messages_of("alice", 1, event_type="order.shipped") + messages_of("alice", 1)
    InboxMessage.objects.filter(id__in=[m.id for m in old_orders]).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    before = (timezone.now() - timedelta(days=1)).isoformat()

    body = bulk(
        alice, {"action": "archive", "filter": {"eventType": "order.shipped", "before": before}}
    ).json()

    assert (body["updated"], body["totalCount"]) == (2, 2)
    archived = bulk(alice, {"action": "seen", "filter": {"status": "archived"}}).json()
    assert archived["updated"] == 2
    assert set(InboxMessage.objects.filter(seen_at=None).values_list("id", flat=True)) == {
        new_order.id,
        comment.id,
    }


@pytest.mark.django_db
def test_delete_is_a_hard_delete_and_leaves_the_counts(alice: APIClient, small_batches: None) -> None:
    doomed = messages_of("alice", 5, tags=["gdpr"])
    kept = messages_of("alice", 1)[0]

    body = bulk(alice, {"action": "delete", "filter": {}}).json()

    assert (body["updated"], body["totalCount"], body["unreadCount"]) == (6, 0, 0)
    assert not InboxMessage.objects.filter(id__in=[m.id for m in [*doomed, kept]]).exists()
    tabs = alice.get("/api/inbox/counts", {"tabs": "gdpr:tag=gdpr"}).json()["tabs"]
    assert tabs["gdpr"]["totalCount"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "explode", "ids": [1]}, "action"),
        ({"action": "read"}, "filter"),
        ({"action": "read", "ids": [1], "filter": {}}, "filter"),
        ({"action": "read", "ids": []}, "ids"),
        ({"action": "read", "ids": list(range(1, 1002))}, "ids"),
        ({"action": "read", "ids": ["x"]}, "ids"),
        ({"action": "read", "ids": [2**63]}, "ids"),
        ({"action": "read", "filter": {"status": "sideways"}}, "filter"),
        ({"action": "read", "filter": {"before": "yesterday"}}, "filter"),
        ({"action": "read", "filter": {"tags": ["x" * 65]}}, "filter"),
    ],
)
def test_bad_bulk_requests_are_a_400_naming_the_field(
    alice: APIClient, body: dict[str, Any], field: str
) -> None:
    response = bulk(alice, body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_a_thousand_ids_are_accepted(alice: APIClient) -> None:
    mine = messages_of("alice", 2)
    response = bulk(alice, {"action": "read", "ids": [m.id for m in mine] + list(range(10**9, 10**9 + 998))})
    assert (response.status_code, response.json()["updated"]) == (200, 2)


@pytest.mark.django_db
def test_alice_can_never_count_or_bulk_change_bobs_messages(alice: APIClient) -> None:
    bobs = messages_of("bob", 3, tags=["team"])
    messages_of("alice", 1, tags=["team"])
    bob_ids = [m.id for m in bobs]

    for action in ("read", "archive", "delete"):
        assert bulk(alice, {"action": action, "ids": bob_ids}).json()["updated"] == 0
    assert bulk(alice, {"action": "delete", "filter": {"tags": ["team"]}}).json()["updated"] == 1
    assert (
        alice.post(
            "/api/inbox/bulk?userId=bob", {"action": "read", "ids": bob_ids}, format="json"
        ).status_code
        == 403
    )
    assert alice.get("/api/inbox/counts?userId=bob&tabs=t:tag=team").status_code == 403

    stored = InboxMessage.objects.filter(id__in=bob_ids)
    assert stored.count() == 3 and not stored.filter(read_at__isnull=False).exists()
    bob = client_with(token_for("bob")).get("/api/inbox/counts", {"tabs": "team:tag=team"}).json()
    assert (bob["unreadCount"], bob["tabs"]["team"]["totalCount"]) == (3, 3)
    assert alice.get("/api/inbox/counts", {"tabs": "team:tag=team"}).json()["tabs"]["team"]["totalCount"] == 0


@pytest.mark.django_db
def test_an_api_key_bulk_changes_the_inbox_userid_names(api_key: str) -> None:
    messages_of("carol", 2)
    server = APIClient()
    server.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    body = server.post("/api/inbox/bulk?userId=carol", {"action": "read", "filter": {}}, format="json").json()
    assert (body["updated"], body["unreadCount"]) == (2, 0)
    assert server.post("/api/inbox/bulk", {"action": "read", "filter": {}}, format="json").status_code == 400


@pytest.mark.django_db(transaction=True)
async def test_every_open_socket_gets_one_counts_change(
    asgi_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "BULK_BATCH", 2)

    @sync_to_async
    def setup() -> tuple[str, APIClient]:
        messages_of("alice", 7)
        messages_of("bob", 1)
        token = token_for("alice")
        return token, client_with(token)

    token, client = await setup()
    bob_token = await sync_to_async(token_for)("bob")
    async with (
        inbox_socket(asgi_server, token) as first,
        inbox_socket(asgi_server, token) as second,
        inbox_socket(asgi_server, bob_token) as bob,
    ):
        for socket in (first, second, bob):
            assert (await socket.receive())["type"] == "hello"
        response = await sync_to_async(bulk)(client, {"action": "read", "filter": {"status": "unread"}})
        assert response.json()["updated"] == 7
        for socket in (first, second):
            change = await socket.receive()
            assert change["type"] == "counts"
            assert (change["unreadCount"], change["change"]["action"], change["change"]["updated"]) == (
                0,
                "bulk_read",
                7,
            )
            assert len(change["change"]["ids"]) == 7
            assert (await socket.next_after_ping())["type"] == "pong"
        assert (await bob.next_after_ping())["type"] == "pong"
