"""Who may use the inbox API: only a valid subscriber token, and only for its own messages."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from realtime.models import InboxMessage
from tests.factories import InboxMessageFactory, SubscriberFactory
from tests.realtime.helpers import client_with, expired_token_for, token_for

pytestmark = pytest.mark.django_db

INBOX_ENDPOINTS = [
    ("get", "/api/inbox"),
    ("get", "/api/inbox/counts"),
    ("post", "/api/inbox/read-all"),
    ("post", "/api/inbox/1/read"),
    ("post", "/api/inbox/1/snooze"),
    ("post", "/api/inbox/1/unsnooze"),
    ("post", "/api/inbox/1/actions/accept"),
    ("post", "/api/inbox/bulk"),
    ("get", "/api/inbox/counts?tabs=all:all"),
]


@pytest.mark.parametrize(("method", "path"), INBOX_ENDPOINTS)
def test_requests_without_credentials_get_401(method: str, path: str) -> None:
    response = getattr(APIClient(), method)(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), INBOX_ENDPOINTS)
def test_tampered_token_gets_401(method: str, path: str) -> None:
    SubscriberFactory(user_id="alice")
    tampered = token_for("alice")[:-2] + "xx"
    assert getattr(client_with(tampered), method)(path).status_code == 401


def test_expired_token_gets_401_and_a_fresh_one_works(settings: object) -> None:
    alice = SubscriberFactory(user_id="alice")
    old = expired_token_for(alice, age_seconds=settings.RELAY_SUBSCRIBER_TOKEN_MAX_AGE + 60)  # type: ignore[attr-defined]
    assert client_with(old).get("/api/inbox").status_code == 401
    assert client_with(token_for("alice")).get("/api/inbox").status_code == 200


def test_token_of_a_deleted_subscriber_gets_401() -> None:
    SubscriberFactory(user_id="gone")
    token = token_for("gone")
    SubscriberFactory._meta.model.objects.filter(user_id="gone").delete()
    assert client_with(token).get("/api/inbox").status_code == 401


def test_a_token_never_reads_or_changes_another_subscribers_messages() -> None:
    bob_message = InboxMessageFactory(subscriber=SubscriberFactory(user_id="bob"))
    InboxMessageFactory(subscriber=SubscriberFactory(user_id="alice"))
    alice = client_with(token_for("alice"))

    listed = alice.get("/api/inbox", {"status": "all"}).json()
    assert bob_message.id not in [m["id"] for m in listed["messages"]]
    assert alice.get("/api/inbox", {"userId": "bob"}).status_code == 403
    assert alice.get("/api/inbox/counts", {"userId": "bob"}).status_code == 403
    for action in ("read", "seen", "archive"):
        assert alice.post(f"/api/inbox/{bob_message.id}/{action}").status_code == 404
        assert alice.post(f"/api/inbox/{bob_message.id}/{action}?userId=bob").status_code == 403
    alice.post("/api/inbox/read-all")

    bob_message.refresh_from_db()
    assert (bob_message.read_at, bob_message.seen_at, bob_message.archived_at) == (None, None, None)
    assert InboxMessage.objects.filter(subscriber__user_id="alice", read_at__isnull=False).count() == 1


def test_a_subscriber_token_cannot_call_the_server_api() -> None:
    SubscriberFactory(user_id="alice")
    alice = client_with(token_for("alice"))
    assert alice.post("/api/subscribers/bob/token").status_code in (401, 403)
    assert alice.get("/api/subscribers/alice").status_code in (401, 403)
