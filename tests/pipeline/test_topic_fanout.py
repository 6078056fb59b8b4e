"""An event to a topic of 10,000 members: every member once, each with their own preferences."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from deliveries.models import Delivery
from notifications.models import Notification, Subscriber
from pipeline.stages import ingest
from preferences.models import Preference
from tests.conftest import wait_until
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.django_db(transaction=True)]

MEMBERS = 10_000
WITH_EMAIL = 100  # the first 100 have an address; half of them opted out of the event type


@sync_to_async
def make_members() -> list[str]:
    subscribers = Subscriber.objects.bulk_create(
        [
            Subscriber(user_id=f"fan-{i:05d}", email=f"fan{i}@example.com" if i < WITH_EMAIL else "")
            for i in range(MEMBERS)
        ],
        batch_size=2000,
    )
    Preference.objects.bulk_create(
        [
            Preference(subscriber=s, channel="*", event_type="release", enabled=False)
            for s in subscribers[: WITH_EMAIL // 2]
        ]
    )
    return [s.user_id for s in subscribers]


@sync_to_async
def outcomes(event_id: str) -> Counter[tuple[str, str]]:
    rows = Delivery.objects.filter(notification__event__event_id=event_id).values_list("status", "reason")
    return Counter(rows)


async def test_topic_of_10000_members_fans_out_in_chunks_with_each_members_preferences(
    pipeline: None, smtp_sink: SmtpSink, api: Any, event_body: Callable[..., dict[str, Any]], monkeypatch: Any
) -> None:
    monkeypatch.setattr(ingest, "TOPIC_CHUNK", 1500)
    chunks: list[int] = []
    real_chunk = ingest.fan_out_chunk

    def counting_chunk(event_pk: int, topic_key: str, after: int) -> tuple[list[int], int | None]:
        ids, cursor = real_chunk(event_pk, topic_key, after)
        chunks.append(len(ids))
        return ids, cursor

    monkeypatch.setattr(ingest, "fan_out_chunk", counting_chunk)
    user_ids = await make_members()
    call = sync_to_async(lambda method, *a: getattr(api, method)(*a, format="json"))
    assert (await call("put", "/api/topics/all-users", {})).status_code == 201
    for start in range(0, MEMBERS, 1000):
        added = await call(
            "post", "/api/topics/all-users/subscribers", {"userIds": user_ids[start : start + 1000]}
        )
        assert added.status_code == 200
    body = event_body(
        userId=None, topic="all-users", eventType="release", channels=["email"], priority="normal"
    )
    assert (await call("post", "/api/events", body)).status_code == 202

    async def settled() -> Counter[tuple[str, str]] | None:
        counts = await outcomes(body["eventId"])
        return counts if counts.total() == MEMBERS and counts[("pending", "")] == 0 else None

    counts = await wait_until(settled, timeout=120, interval=0.5)
    assert counts == {
        ("sent", ""): WITH_EMAIL // 2,
        ("suppressed", "event_type_opted_out"): WITH_EMAIL // 2,
        ("suppressed", "no_address"): MEMBERS - WITH_EMAIL,
    }
    # Never the whole topic at once (a redelivered event, on a slow machine, expands again: harmless).
    assert max(chunks) <= 1500 and sum(chunks) >= MEMBERS
    count = sync_to_async(Notification.objects.filter(event__event_id=body["eventId"]).count)
    assert await count() == MEMBERS
    await wait_until(lambda: len(smtp_sink.messages) == WITH_EMAIL // 2)
