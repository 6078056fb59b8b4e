"""Counters: counts, tabs and listing filters answered from counter rows that every change keeps
right; the repair command; no drift after concurrent deliveries, reads, archives and deletes."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from pipeline.providers.base import OutboundMessage
from pipeline.providers.inapp import store_inbox_messages
from pipeline.scheduler import run_scheduler
from realtime.models import IN_INBOX, InboxCounter, InboxMessage
from realtime.snooze import resurface_due
from tests.factories import DeliveryFactory, InboxMessageFactory, SubscriberFactory
from tests.realtime.helpers import client_with, token_for


@pytest.fixture
def alice(db: None) -> APIClient:
    SubscriberFactory(user_id="alice")
    return client_with(token_for("alice"))


def message(user_id: str = "alice", **fields: Any) -> InboxMessage:
    return InboxMessageFactory(subscriber=SubscriberFactory(user_id=user_id), **fields)


def counts(client: APIClient, **query: str) -> dict[str, Any]:
    response = client.get("/api/inbox/counts", query)
    assert response.status_code == 200, response.content
    return response.json()


def repair(*user_ids: str) -> str:
    out = StringIO()
    call_command("repair_inbox_counters", *user_ids, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_tabs_are_counted_per_tag_type_and_priority(alice: APIClient) -> None:
    mention = message(tags=["mention", "team"], priority="high")
    message(tags=["team"], event_type="order.shipped", priority="urgent")
    message(tags=["mention"], priority="low")
    message(event_type="order.shipped")
    alice.post(f"/api/inbox/{mention.id}/read")

    body = counts(
        alice,
        tabs="everything:all,mentions:tag=mention,team:tag=team,orders:type=order.shipped|order.paid,"
        "loud:priority=high|urgent",
    )

    assert (body["totalCount"], body["unreadCount"], body["unseenCount"]) == (4, 3, 3)
    assert body["unreadByPriority"] == {"low": 1, "normal": 1, "high": 0, "urgent": 1}
    assert body["tabs"] == {
        "everything": {"totalCount": 4, "unreadCount": 3, "unseenCount": 3},
        "mentions": {"totalCount": 2, "unreadCount": 1, "unseenCount": 1},
        "team": {"totalCount": 2, "unreadCount": 1, "unseenCount": 1},
        "orders": {"totalCount": 2, "unreadCount": 2, "unseenCount": 2},
        "loud": {"totalCount": 2, "unreadCount": 1, "unseenCount": 1},
    }
    assert list(body["tabs"]) == ["everything", "mentions", "team", "orders", "loud"]


@pytest.mark.django_db
def test_archived_messages_leave_every_tab_and_come_back_unarchived(alice: APIClient) -> None:
    tagged = message(tags=["billing"], priority="high")
    alice.post(f"/api/inbox/{tagged.id}/archive")
    assert counts(alice, tabs="billing:tag=billing")["tabs"]["billing"]["totalCount"] == 0

    response = alice.post("/api/inbox/bulk", {"action": "unarchive", "ids": [tagged.id]}, format="json")

    assert response.json()["updated"] == 1
    body = counts(alice, tabs="billing:tag=billing")
    assert body["tabs"]["billing"] == {"totalCount": 1, "unreadCount": 1, "unseenCount": 1}
    assert body["unreadByPriority"]["high"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tabs",
    [
        "nocolon",
        ":all",
        "a:all,a:all",
        "a:color=red",
        "a:tag=x|y",
        "a:priority=loud",
        "a:type=",
        ",".join(f"t{i}:all" for i in range(21)),
    ],
)
def test_malformed_tabs_are_a_400_naming_tabs(alice: APIClient, tabs: str) -> None:
    response = alice.get("/api/inbox/counts", {"tabs": tabs})
    assert response.status_code == 400
    assert "tabs" in response.json()["errors"]


@pytest.mark.django_db
def test_listing_filters_on_any_of_several_tags_and_event_types(alice: APIClient) -> None:
    billing = message(tags=["billing"])
    security = message(tags=["security", "team"], event_type="login.new")
    message(tags=["team"], event_type="order.shipped")
    plain = message()

    def ids(**query: Any) -> list[int]:
        response = alice.get("/api/inbox", query)
        assert response.status_code == 200, response.content
        return [m["id"] for m in response.json()["messages"]]

    assert ids(tags="billing,security") == [security.id, billing.id]
    assert ids(eventType=["login.new", "comment.created"]) == [plain.id, security.id, billing.id]
    assert ids(eventType="login.new,comment.created") == [plain.id, security.id, billing.id]
    assert ids(tags="team", eventType="login.new") == [security.id]
    assert alice.get("/api/inbox", {"tags": "x" * 65}).status_code == 400


@pytest.mark.django_db
def test_deep_pages_of_a_filtered_listing_walk_every_message_once(alice: APIClient) -> None:
    wanted = [message(tags=["t"]).id if i % 2 else message().id for i in range(12)]
    tagged = [i for n, i in enumerate(wanted) if n % 2]
    seen: list[int] = []
    cursor = None
    while True:
        page = alice.get(
            "/api/inbox", {"limit": 2, "tags": "t", **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [m["id"] for m in page["messages"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == sorted(tagged, reverse=True)


@pytest.mark.django_db
def test_repair_reports_and_fixes_drift_then_finds_none(alice: APIClient) -> None:
    message(tags=["team"])
    message()
    bob = message("bob")
    assert repair().splitlines()[-1] == "checked 2 subscribers, 0 counters fixed"
    InboxCounter.objects.filter(subscriber__user_id="alice", dimension="all").update(unread=40)
    InboxCounter.objects.filter(subscriber__user_id="alice", dimension="tag").delete()
    InboxCounter.objects.create(subscriber=bob.subscriber, dimension="tag", value="ghost", total=3)

    report = repair()

    assert "stored(total,unread,unseen)=(2, 40, 2) actual=(2, 2, 2)" in report
    assert "tag='team' stored(total,unread,unseen)=(0, 0, 0) actual=(1, 1, 1)" in report
    assert "tag='ghost' stored(total,unread,unseen)=(3, 0, 0) actual=(0, 0, 0)" in report
    assert report.splitlines()[-1] == "checked 2 subscribers, 3 counters fixed"
    assert counts(alice, tabs="team:tag=team")["tabs"]["team"]["unreadCount"] == 1
    assert counts(alice)["unreadCount"] == 2
    assert repair("alice", "bob").splitlines()[-1] == "checked 2 subscribers, 0 counters fixed"


@pytest.mark.django_db
def test_repair_of_an_unknown_user_id_exits_2() -> None:
    with pytest.raises(SystemExit) as exit_info:
        call_command("repair_inbox_counters", "nobody", stderr=StringIO())
    assert exit_info.value.code == 2


def _delivered(subscriber_id: int, user_id: str, tags: list[str], priority: str) -> OutboundMessage:
    delivery = DeliveryFactory(channel="in_app", notification__subscriber_id=subscriber_id)
    return OutboundMessage(
        delivery.pk, "in_app", f"e{delivery.pk}", random.choice(["comment.created", "order.shipped"]),
        subscriber_id, user_id, user_id, {"title": "t", "body": "b"}, tags=tags, priority=priority,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_no_drift_after_concurrent_deliveries_reads_archives_snoozes_and_deletes() -> None:
    """Five threads (own database connections) race on the same subscriber: the in-app
    provider stores batches (some redelivered), and the API reads, archives, unarchives,
    snoozes, unsnoozes and deletes, single and bulk, while snoozes come due and are woken.
    The counters must equal a recount afterwards."""
    alice = SubscriberFactory(user_id="alice")
    client = client_with(token_for("alice"))
    pending = [
        _delivered(alice.pk, "alice", random.sample(["a", "b", "c"], k=random.randint(0, 2)), p)
        for p in random.choices(["low", "normal", "high", "urgent"], k=240)
    ]
    batches = [pending[i : i + 8] for i in range(0, len(pending), 8)]
    errors: list[BaseException] = []
    woken: list[Any] = []
    done = threading.Event()

    def deliver() -> None:
        for batch in batches:
            store_inbox_messages(batch)
            store_inbox_messages(batch[:3])  # a redelivery stores and counts nothing twice
        done.set()

    def change(actions: list[tuple[str, str]]) -> None:
        local = client_with(client._credentials["HTTP_AUTHORIZATION"].removeprefix("Bearer "))
        while not done.is_set():
            ids = list(InboxMessage.objects.filter(subscriber=alice).values_list("id", flat=True)[:50])
            if not ids:
                continue
            kind, action = random.choice(actions)
            picked = random.sample(ids, k=min(len(ids), 5))
            if kind == "one":
                local.post(f"/api/inbox/{picked[0]}/{action}")
            elif kind == "snooze":
                local.post(f"/api/inbox/{picked[0]}/snooze", {"duration": "1h"}, format="json")
            elif kind == "wake":  # the snoozes of a few come due, and the scheduler's wake-up runs
                snoozed = InboxMessage.objects.filter(subscriber=alice, snoozed_until__isnull=False)
                InboxMessage.objects.filter(id__in=list(snoozed.values_list("id", flat=True)[:3])).update(
                    snoozed_until=timezone.now() - timedelta(seconds=1)
                )
                woken.extend(resurface_due(timezone.now(), 10))
            elif kind == "ids":
                local.post("/api/inbox/bulk", {"action": action, "ids": picked}, format="json")
            else:
                local.post("/api/inbox/bulk", {"action": action, "filter": {"tags": ["a"]}}, format="json")

    def guarded(target: Any, *args: Any) -> None:
        try:
            target(*args)
        except BaseException as error:  # surfaced below, not lost in the thread
            errors.append(error)
            done.set()
        finally:
            connection.close()

    mixes = [
        [("one", "read"), ("one", "seen"), ("ids", "read"), ("snooze", ""), ("one", "unsnooze")],
        [("one", "archive"), ("ids", "unarchive"), ("ids", "delete")],
        [("filter", "read"), ("filter", "archive"), ("ids", "seen"), ("snooze", "")],
        [("snooze", ""), ("one", "unsnooze"), ("wake", "")],
    ]
    threads = [threading.Thread(target=guarded, args=(deliver,))]
    threads += [threading.Thread(target=guarded, args=(change, mix)) for mix in mixes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert not errors, errors
    assert InboxMessage.objects.filter(subscriber=alice).exists()
    assert InboxMessage.objects.filter(subscriber=alice, archived_at__isnull=False).exists()
    assert woken, "no snooze came due during the race"
    assert repair("alice").splitlines() == ["checked 1 subscribers, 0 counters fixed"]
    body = counts(client)
    assert body["totalCount"] == InboxMessage.objects.filter(IN_INBOX, subscriber=alice).count()


@pytest.mark.django_db(transaction=True)
def test_retention_deletes_old_messages_in_batches_keeping_the_counters(settings: Any, streams: None) -> None:
    settings.RELAY_INBOX_RETENTION_DAYS = 30
    client = client_with(token_for(SubscriberFactory(user_id="alice").user_id))
    old = [message(tags=["team"]) for _ in range(5)]
    kept = [message(tags=["team"]), message()]
    InboxMessage.objects.filter(id__in=[m.id for m in old]).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    InboxMessage.objects.filter(id=kept[1].id).update(created_at=timezone.now() - timedelta(days=29))

    totals = asyncio.run(run_scheduler(asyncio.Event(), once=True, batch=2))

    assert totals.purged == 5
    assert set(InboxMessage.objects.values_list("id", flat=True)) == {m.id for m in kept}
    body = counts(client, tabs="team:tag=team")
    assert (body["totalCount"], body["tabs"]["team"]["totalCount"]) == (2, 1)
    assert repair().splitlines()[-1] == "checked 1 subscribers, 0 counters fixed"


@pytest.mark.django_db(transaction=True)
def test_retention_of_zero_days_keeps_everything(settings: Any, streams: None) -> None:
    settings.RELAY_INBOX_RETENTION_DAYS = 0
    old = message()
    InboxMessage.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=3650))

    assert asyncio.run(run_scheduler(asyncio.Event(), once=True)).purged == 0
    assert InboxMessage.objects.filter(id=old.id).exists()


@pytest.mark.django_db
def test_counters_are_shown_read_only_in_the_admin(admin_client: Any) -> None:
    message(tags=["team"])
    listing = admin_client.get("/admin/realtime/inboxcounter/", {"dimension": "tag"})
    assert listing.status_code == 200
    assert b"team" in listing.content
    assert admin_client.get("/admin/realtime/inboxcounter/add/").status_code == 403
    assert admin_client.get("/admin/realtime/inboxmessage/", {"priority": "normal"}).status_code == 200
