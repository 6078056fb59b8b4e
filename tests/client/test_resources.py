"""Pages walked by the client's iterators, and the resources' calls round trip, against a
live Relay."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from relay_client import AsyncRelay, Conflict, NotFound

from tests.factories import DeliveryFactory, InboxMessageFactory, SubscriberFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


@sync_to_async
def deliveries_for(user_id: str, count: int) -> list[int]:
    subscriber = SubscriberFactory(user_id=user_id)
    rows = DeliveryFactory.create_batch(count, notification__subscriber=subscriber)
    return [row.id for row in rows]


@sync_to_async
def inbox_of(user_id: str, count: int) -> list[int]:
    subscriber = SubscriberFactory(user_id=user_id)
    return [message.id for message in InboxMessageFactory.create_batch(count, subscriber=subscriber)]


async def test_iter_deliveries_walks_every_page_once(relay: AsyncRelay) -> None:
    ids = await deliveries_for("pager", 5)
    await deliveries_for("someone-else", 2)

    first = await relay.deliveries(user_id="pager", limit=2)
    assert [d["id"] for d in first["results"]] == sorted(ids, reverse=True)[:2]
    assert first["next"] is not None

    walked = [d["id"] async for d in relay.iter_deliveries(user_id="pager", limit=2)]
    assert walked == sorted(ids, reverse=True)  # newest first, three pages, none twice
    assert (await relay.get_delivery(ids[0]))["userId"] == "pager"
    stats = await relay.delivery_stats(user_id="pager")
    assert stats["total"] == 5 and stats["byChannel"] == {"email": 5}


async def test_iter_events_walks_the_activity_feed_with_its_filters(relay: AsyncRelay) -> None:
    await deliveries_for("feed-user", 3)
    others = await deliveries_for("feed-other", 2)

    walked = [e async for e in relay.iter_events(user_id="feed-user", limit=2)]
    assert len(walked) == 3  # two pages, each event once
    assert len({e["eventId"] for e in walked}) == 3
    assert all(e["deliverySummary"]["total"] == 1 for e in walked)
    newest = await relay.events(user_id="feed-user", limit=1)
    assert newest["results"][0]["eventId"] == walked[0]["eventId"] and newest["next"] is not None
    everyone = [e async for e in relay.iter_events(limit=10)]
    assert len(everyone) == 3 + len(others)  # the filter is what left feed-other's events out


async def test_iter_inbox_walks_every_page_and_actions_change_counts(relay: AsyncRelay) -> None:
    ids = await inbox_of("reader", 5)

    walked = [m["id"] async for m in relay.iter_inbox(user_id="reader", limit=2)]
    assert walked == sorted(ids, reverse=True)

    read = await relay.mark_read(ids[0], user_id="reader")
    assert read["message"]["readAt"] is not None
    assert read["unreadCount"] == 4
    archived = await relay.archive(ids[1], user_id="reader")
    assert archived["message"]["archivedAt"] is not None
    assert (await relay.inbox(user_id="reader", status="archived"))["messages"][0]["id"] == ids[1]

    counts = await relay.inbox_counts(user_id="reader", tabs={"everything": "all"})
    assert counts["tabs"]["everything"]["totalCount"] == counts["totalCount"] == 4
    bulk = await relay.inbox_bulk("read", ids=ids[2:4], user_id="reader")
    assert (bulk["updated"], bulk["unreadCount"]) == (2, 1)
    assert (await relay.mark_all_read(user_id="reader"))["unreadCount"] == 0


async def test_subscriber_token_reads_its_own_inbox(relay: AsyncRelay, relay_url: str) -> None:
    ids = await inbox_of("token-holder", 3)
    token = await relay.subscriber_token("token-holder")
    assert token["userId"] == "token-holder"
    async with AsyncRelay(token=token["token"], base_url=relay_url) as own:
        page = await own.inbox(limit=10)
        await own.mark_seen(ids[0])
        assert (await own.inbox_counts())["unseenCount"] == 2
    assert [m["id"] for m in page["messages"]] == sorted(ids, reverse=True)


async def test_subscribers_preferences_and_topics(relay: AsyncRelay) -> None:
    created = await relay.identify(
        "ann", email="ann@example.com", addresses={"webhook": "https://h.example/x"}
    )
    assert created["addresses"] == {"webhook": "https://h.example/x"}

    row = await relay.create_preference("email", "account", enabled=False, user_id="ann")
    with pytest.raises(Conflict):
        await relay.create_preference("email", "account", user_id="ann")
    assert (await relay.update_preference(row["id"], enabled=True))["enabled"] is True
    assert [p["id"] for p in await relay.preferences(user_id="ann")] == [row["id"]]
    await relay.delete_preference(row["id"])
    assert await relay.preferences(user_id="ann") == []

    await relay.put_topic("team:1", name="Team one")
    for user_id in ("bob", "cy", "dee"):
        await relay.identify(user_id)
    added = await relay.add_topic_members("team:1", ["ann", "bob", "cy", "dee"])
    assert added["subscriberCount"] == 4
    members = [user async for user in relay.iter_topic_members("team:1", limit=3)]
    assert sorted(members) == ["ann", "bob", "cy", "dee"]  # two pages (3 + 1), none twice
    assert (await relay.remove_topic_members("team:1", ["bob"]))["subscriberCount"] == 3
    assert (await relay.get_topic("team:1"))["name"] == "Team one"
    await relay.delete_topic("team:1")
    with pytest.raises(NotFound):
        await relay.get_topic("team:1")

    await relay.delete_subscriber("ann")
    with pytest.raises(NotFound):
        await relay.get_subscriber("ann")


async def test_workflows(relay: AsyncRelay) -> None:
    steps = [{"id": "inbox", "type": "send", "config": {"channel": "in_app"}}]
    published = await relay.put_workflow("comment.created", steps, name="Comment")
    assert (published["key"], published["version"]) == ("comment.created", 1)
    assert [w["key"] for w in await relay.workflows()] == ["comment.created"]
    assert (await relay.get_workflow("comment.created"))["name"] == "Comment"

    await relay.identify("wf-user")
    plan = await relay.dry_run("comment.created", {"data": {"comment": "hi"}}, "wf-user")
    assert [(s["id"], s["would"]) for s in plan["steps"]] == [("inbox", "send")]
    assert await relay.cancel("no-such-key") == 0

    await relay.delete_workflow("comment.created")
    with pytest.raises(NotFound):
        await relay.get_workflow("comment.created")
