"""Snooze over HTTP and the socket: out of the list and the counts, listed as snoozed, back
unread and unseen when the scheduler finds it due (pushed as ``resurfaced``), and an early
unsnooze that restores what the message was."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from pipeline.scheduler import run_scheduler
from realtime import counters
from realtime.models import InboxMessage
from tests.conftest import start_manage
from tests.factories import InboxMessageFactory, SubscriberFactory
from tests.realtime.helpers import client_with, token_for
from tests.realtime.socket_client import inbox_socket


def alice_with(count: int, **fields: Any) -> tuple[APIClient, list[InboxMessage]]:
    subscriber = SubscriberFactory(user_id="alice")
    messages = [InboxMessageFactory(subscriber=subscriber, **fields) for _ in range(count)]
    return client_with(token_for("alice")), messages


def listed(client: APIClient, status: str = "inbox") -> list[int]:
    return [m["id"] for m in client.get("/api/inbox", {"status": status}).json()["messages"]]


async def logged(process: subprocess.Popen[bytes], text: bytes) -> None:
    """Until the process has written ``text`` (its log goes to its stdout)."""
    assert process.stdout is not None
    while text not in await asyncio.to_thread(process.stdout.readline):
        pass


def make_due(message_id: int) -> None:
    """The snooze's time has come: set back in the row, as a clock would have moved it."""
    InboxMessage.objects.filter(pk=message_id).update(snoozed_until=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_a_snoozed_message_leaves_the_list_and_the_counts_and_is_listed_as_snoozed() -> None:
    alice, (kept, snoozed) = alice_with(2)

    response = alice.post(f"/api/inbox/{snoozed.id}/snooze", {"duration": "2h"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    until = timezone.datetime.fromisoformat(body["message"]["snoozedUntil"])
    assert timedelta(hours=2) - timedelta(seconds=30) < until - timezone.now() <= timedelta(hours=2)
    assert (body["unreadCount"], body["unseenCount"], body["totalCount"]) == (1, 1, 1)
    assert listed(alice) == [kept.id]
    assert listed(alice, "unread") == [kept.id]
    assert listed(alice, "snoozed") == [snoozed.id]
    assert alice.get("/api/inbox/counts").json()["unreadCount"] == 1
    assert counters.repair().drift == []


@pytest.mark.django_db
def test_snooze_until_a_time_and_again_later_keeps_the_state_before_the_first() -> None:
    alice, (message,) = alice_with(1)
    alice.post(f"/api/inbox/{message.id}/read")
    first = (timezone.now() + timedelta(days=1)).isoformat()
    assert alice.post(f"/api/inbox/{message.id}/snooze", {"until": first}, format="json").status_code == 200
    later = timezone.now() + timedelta(days=3)
    again = alice.post(f"/api/inbox/{message.id}/snooze", {"until": later.isoformat()}, format="json")
    assert timezone.datetime.fromisoformat(again.json()["message"]["snoozedUntil"]) == later

    restored = alice.post(f"/api/inbox/{message.id}/unsnooze").json()

    assert restored["message"]["snoozedUntil"] is None
    assert restored["message"]["readAt"] is not None and restored["message"]["seenAt"] is not None
    assert (restored["unreadCount"], restored["totalCount"]) == (0, 1)
    assert listed(alice) == [message.id]
    assert counters.repair().drift == []


@pytest.mark.django_db
def test_an_early_unsnooze_restores_an_unread_message_as_unread() -> None:
    alice, (message,) = alice_with(1)
    alice.post(f"/api/inbox/{message.id}/seen")
    alice.post(f"/api/inbox/{message.id}/snooze", {"duration": 3600}, format="json")

    restored = alice.post(f"/api/inbox/{message.id}/unsnooze").json()["message"]

    assert (restored["readAt"], restored["seenAt"] is not None) == (None, True)
    assert alice.get("/api/inbox/counts").json()["unreadCount"] == 1
    # Unsnoozing a message that is not snoozed changes nothing.
    assert alice.post(f"/api/inbox/{message.id}/unsnooze").json()["message"] == restored


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"until": ["Give exactly one of until and duration."], "duration": None}),
        ({"until": "2099-01-01T00:00:00Z", "duration": "1h"}, {"until": None, "duration": None}),
        ({"duration": "59s"}, {"duration": ["The snooze must end between 60 seconds and 90 days from now."]}),
        ({"duration": "91d"}, {"duration": None}),
        ({"duration": "999999999d"}, {"duration": None}),
        ({"duration": 10**30}, {"duration": None}),
        ({"until": "9999-12-31T23:59:59Z"}, {"until": None}),
        ({"duration": 0}, {"duration": None}),
        (
            {"duration": "soon"},
            {"duration": ['Give seconds as a number or a string such as "90s", "1h", "7d".']},
        ),
        ({"duration": True}, {"duration": None}),
        ({"until": "2001-01-01T00:00:00Z"}, {"until": None}),
        ({"until": "tomorrow"}, {"until": None}),
    ],
)
def test_a_snooze_out_of_range_or_malformed_is_a_400_naming_the_field(
    body: dict[str, Any], errors: dict[str, Any]
) -> None:
    alice, (message,) = alice_with(1)

    response = alice.post(f"/api/inbox/{message.id}/snooze", body, format="json")

    assert response.status_code == 400
    found = response.json()["errors"]
    assert set(found) == set(errors)
    for field, messages in errors.items():
        if messages is not None:
            assert found[field] == messages
    message.refresh_from_db()
    assert message.snoozed_until is None


@pytest.mark.django_db
def test_an_archived_message_cannot_be_snoozed_and_an_unknown_one_is_404() -> None:
    alice, (message,) = alice_with(1)
    alice.post(f"/api/inbox/{message.id}/archive")
    conflict = alice.post(f"/api/inbox/{message.id}/snooze", {"duration": "1h"}, format="json")
    assert conflict.status_code == 409
    assert "unarchive" in conflict.json()["detail"]
    assert alice.post("/api/inbox/999999/snooze", {"duration": "1h"}, format="json").status_code == 404
    assert alice.post("/api/inbox/999999/unsnooze").status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_the_scheduler_brings_a_due_message_back_unread_to_every_socket(
    streams: None, asgi_server: str
) -> None:
    alice, (message,) = await sync_to_async(alice_with)(1)
    token = await sync_to_async(token_for)("alice")
    await sync_to_async(alice.post)(f"/api/inbox/{message.id}/read")
    async with inbox_socket(asgi_server, token) as tab1, inbox_socket(asgi_server, token) as tab2:
        await tab1.receive()
        await tab2.receive()
        await tab1.send(type="snooze", id=message.id, duration="1h", requestId="s1")
        for tab in (tab1, tab2):
            counts = await tab.receive_type("counts")
            assert counts["change"]["action"] == "snooze" and counts["change"]["ids"] == [message.id]
            assert counts["totalCount"] == 0

        # Not due yet: a scheduler pass leaves it snoozed.
        assert (await run_scheduler(asyncio.Event(), once=True)).resurfaced == 0
        await sync_to_async(make_due)(message.id)
        assert (await run_scheduler(asyncio.Event(), once=True)).resurfaced == 1

        for tab in (tab1, tab2):
            pushed = await tab.receive_type("notification")
            assert pushed["resurfaced"] is True
            assert pushed["message"]["id"] == message.id
            assert (pushed["message"]["readAt"], pushed["message"]["seenAt"]) == (None, None)
            assert pushed["message"]["snoozedUntil"] is None
            assert (pushed["unreadCount"], pushed["unseenCount"], pushed["totalCount"]) == (1, 1, 1)
    assert await sync_to_async(listed)(alice) == [message.id]
    assert (await sync_to_async(counters.repair)()).drift == []


@pytest.mark.django_db(transaction=True)
async def test_racing_schedulers_bring_each_message_back_once(streams: None) -> None:
    alice, messages = await sync_to_async(alice_with)(30)
    for message in messages:
        await sync_to_async(alice.post)(f"/api/inbox/{message.id}/snooze", {"duration": "1h"}, format="json")
        await sync_to_async(make_due)(message.id)

    totals = await asyncio.gather(*(run_scheduler(asyncio.Event(), once=True, batch=4) for _ in range(3)))

    assert sum(t.resurfaced for t in totals) == 30
    counts = (await sync_to_async(alice.get)("/api/inbox/counts")).json()
    assert (counts["unreadCount"], counts["totalCount"]) == (30, 30)
    assert (await sync_to_async(counters.repair)()).drift == []


@pytest.mark.django_db(transaction=True)
async def test_socket_snooze_and_unsnooze_answer_counts_and_refuse_bad_input(asgi_server: str) -> None:
    _, (message,) = await sync_to_async(alice_with)(1)
    token = await sync_to_async(token_for)("alice")
    async with inbox_socket(asgi_server, token) as socket:
        await socket.receive()
        await socket.send(type="snooze", id=message.id, requestId="r1")
        refused = await socket.receive()
        assert refused["error"] == "invalid_snooze" and refused["requestId"] == "r1"
        assert set(refused["errors"]) == {"until", "duration"}
        await socket.send(type="snooze", id=message.id, duration="10s", requestId="r2")
        assert (await socket.receive())["errors"] == {
            "duration": ["The snooze must end between 60 seconds and 90 days from now."]
        }
        await socket.send(type="snooze", ids="x", duration="1h", requestId="r3")
        assert (await socket.receive())["error"] == "invalid_ids"

        until = (timezone.now() + timedelta(days=1)).isoformat()
        await socket.send(type="snooze", id=message.id, until=until)
        snoozed = await socket.receive_type("counts")
        assert (snoozed["change"]["action"], snoozed["unreadCount"]) == ("snooze", 0)
        await socket.send(type="unsnooze", ids=[message.id])
        back = await socket.receive_type("counts")
        assert (back["change"]["action"], back["change"]["ids"], back["unreadCount"]) == (
            "unsnooze",
            [message.id],
            1,
        )


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (the channel layer between processes)")
@pytest.mark.django_db(transaction=True)
async def test_a_snooze_outlives_a_killed_scheduler_and_the_next_one_wakes_it(
    streams: None, asgi_server: str
) -> None:
    """The due time is in the row: a scheduler killed with -9 while the snooze runs loses
    nothing, and a scheduler process started afterwards wakes the message and pushes it."""
    alice, (message,) = await sync_to_async(alice_with)(1)
    token = await sync_to_async(token_for)("alice")
    await sync_to_async(alice.post)(f"/api/inbox/{message.id}/snooze", {"duration": "1h"}, format="json")
    first = start_manage("scheduler", RELAY_SCHEDULER_INTERVAL="0.1")
    await asyncio.wait_for(logged(first, b"scheduler_started"), timeout=30)
    first.kill()
    first.wait(10)
    await sync_to_async(make_due)(message.id)

    async with inbox_socket(asgi_server, token) as socket:
        assert (await socket.receive())["totalCount"] == 0
        second = start_manage("scheduler", "--once")
        output, _ = await asyncio.to_thread(second.communicate, timeout=60)
        assert second.returncode == 0, output
        assert b"resurfaced=1" in output
        pushed = await socket.receive_type("notification")
    assert (pushed["resurfaced"], pushed["message"]["id"], pushed["totalCount"]) == (True, message.id, 1)
