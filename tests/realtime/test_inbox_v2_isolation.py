"""Inbox v2 isolation: subscriber A can never snooze, unsnooze, act on, count or bulk-change
subscriber B's messages, over HTTP or the socket, and B's resurfaced message reaches B alone."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient

from pipeline.scheduler import run_scheduler
from realtime.models import InboxMessage
from tests.factories import InboxMessageFactory, SubscriberFactory
from tests.realtime.helpers import client_with, token_for
from tests.realtime.socket_client import inbox_socket

BUTTONS = [{"key": "accept", "label": "Accept", "variant": "primary", "completedAt": None}]
BULK_ACTIONS = ["read", "seen", "archive", "unarchive", "delete"]


def state(message_id: int) -> tuple[object, ...]:
    m = InboxMessage.objects.get(pk=message_id)
    return (m.read_at, m.seen_at, m.archived_at, m.snoozed_until, m.snoozed_from, m.actions)


def alice_and_bob() -> tuple[APIClient, APIClient, InboxMessage, InboxMessage]:
    """Alice's and Bob's clients; Bob's message with a button, and Bob's snoozed one."""
    alice, bob = SubscriberFactory(user_id="alice"), SubscriberFactory(user_id="bob")
    InboxMessageFactory(subscriber=alice, actions=BUTTONS, tags=["team"])
    bob_message = InboxMessageFactory(subscriber=bob, actions=BUTTONS, tags=["team"])
    bob_snoozed = InboxMessageFactory(subscriber=bob)
    bob_client = client_with(token_for("bob"))
    snoozed = bob_client.post(f"/api/inbox/{bob_snoozed.id}/snooze", {"duration": "1h"}, format="json")
    assert snoozed.status_code == 200
    return client_with(token_for("alice")), bob_client, bob_message, bob_snoozed


@pytest.mark.django_db
def test_alice_cannot_snooze_unsnooze_or_complete_bobs_messages() -> None:
    alice, _, bob_message, bob_snoozed = alice_and_bob()
    before = {m.id: state(m.id) for m in (bob_message, bob_snoozed)}

    for suffix in ("", "?userId=bob"):
        expected = 403 if suffix else 404
        snooze = alice.post(f"/api/inbox/{bob_message.id}/snooze{suffix}", {"duration": "1h"}, format="json")
        assert snooze.status_code == expected
        assert alice.post(f"/api/inbox/{bob_snoozed.id}/unsnooze{suffix}").status_code == expected
        assert alice.post(f"/api/inbox/{bob_message.id}/actions/accept{suffix}").status_code == expected

    assert {m: state(m) for m in before} == before


@pytest.mark.django_db
@pytest.mark.parametrize("action", BULK_ACTIONS)
def test_alice_cannot_bulk_change_bobs_messages_by_ids_or_by_filter(action: str) -> None:
    alice, _, bob_message, bob_snoozed = alice_and_bob()
    before = {m.id: state(m.id) for m in (bob_message, bob_snoozed)}

    by_ids = alice.post("/api/inbox/bulk", {"action": action, "ids": list(before)}, format="json")
    assert by_ids.status_code == 200 and by_ids.json()["updated"] == 0
    for status in ("all", "inbox", "archived", "snoozed"):
        body = {"action": action, "filter": {"status": status, "tags": ["team"]}}
        assert alice.post("/api/inbox/bulk", body, format="json").status_code == 200
    refused = alice.post("/api/inbox/bulk?userId=bob", {"action": action, "filter": {}}, format="json")
    assert refused.status_code == 403

    assert {m: state(m) for m in before} == before
    assert InboxMessage.objects.filter(subscriber__user_id="bob").count() == 2


@pytest.mark.django_db
def test_alice_counts_and_lists_only_her_own_messages() -> None:
    alice, bob, _, bob_snoozed = alice_and_bob()

    counts = alice.get("/api/inbox/counts", {"tabs": "all:all,team:tag=team,comments:type=comment.created"})

    assert counts.status_code == 200
    tabs = counts.json()["tabs"]
    assert tabs["all"]["totalCount"] == tabs["team"]["totalCount"] == tabs["comments"]["totalCount"] == 1
    assert bob.get("/api/inbox/counts", {"tabs": "team:tag=team"}).json()["tabs"]["team"]["totalCount"] == 1
    assert alice.get("/api/inbox/counts", {"tabs": "all:all", "userId": "bob"}).status_code == 403
    assert alice.get("/api/inbox", {"status": "snoozed"}).json()["messages"] == []
    assert alice.get("/api/inbox", {"status": "snoozed", "userId": "bob"}).status_code == 403
    assert [m["id"] for m in bob.get("/api/inbox", {"status": "snoozed"}).json()["messages"]] == [
        bob_snoozed.id
    ]


@pytest.mark.django_db(transaction=True)
async def test_alices_socket_cannot_snooze_or_unsnooze_bobs_messages(asgi_server: str) -> None:
    _, _, bob_message, bob_snoozed = await sync_to_async(alice_and_bob)()
    before = {m.id: await sync_to_async(state)(m.id) for m in (bob_message, bob_snoozed)}
    alice_token, bob_token = await sync_to_async(token_for)("alice"), await sync_to_async(token_for)("bob")
    async with inbox_socket(asgi_server, alice_token) as alice, inbox_socket(asgi_server, bob_token) as bob:
        await alice.receive()
        await bob.receive()
        await alice.send(type="snooze", id=bob_message.id, duration="1h", requestId="a")
        assert (await alice.receive())["error"] == "not_found"
        await alice.send(type="unsnooze", ids=[bob_snoozed.id], requestId="b")
        assert (await alice.receive())["error"] == "not_found"
        assert (await bob.next_after_ping())["type"] == "pong"

    assert {m: await sync_to_async(state)(m) for m in before} == before


@pytest.mark.django_db(transaction=True)
async def test_a_resurfaced_message_reaches_only_its_subscribers_sockets(
    streams: None, asgi_server: str
) -> None:
    _, _, _, bob_snoozed = await sync_to_async(alice_and_bob)()
    await sync_to_async(InboxMessage.objects.filter(pk=bob_snoozed.id).update)(
        snoozed_until=timezone.now() - timedelta(seconds=1)
    )
    alice_token, bob_token = await sync_to_async(token_for)("alice"), await sync_to_async(token_for)("bob")
    async with inbox_socket(asgi_server, alice_token) as alice, inbox_socket(asgi_server, bob_token) as bob:
        await alice.receive()
        await bob.receive()
        assert (await run_scheduler(asyncio.Event(), once=True)).resurfaced == 1
        pushed = await bob.receive_type("notification")
        assert (pushed["message"]["id"], pushed["resurfaced"]) == (bob_snoozed.id, True)
        assert (await alice.next_after_ping())["type"] == "pong"
