"""Ingest: persist accepted events once, expand recipients, route or hand on each notification.

A batch is one transaction. The notifications of events sent to one user are then routed
here, with route's own ``plan_deliveries``, and their deliver messages published; topic
events are expanded after that, chunk by chunk (notifications, then one route message each,
for the route workers), so a topic of any size never sits in memory whole. The event
messages are acked last, so a crash anywhere replays the batch without duplicates: the
unique ``event_id``, (event, subscriber) and (notification, channel) keys turn replays into
no-ops that re-dispatch only what is still pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from django.db import transaction
from nats.aio.msg import Msg

from core import metrics
from core.bulk import insert_new
from core.db import run_db
from core.rows import JoinedRead, Table
from notifications.models import Event, Notification, Subscriber, TopicMembership
from pipeline.context import StageContext
from pipeline.jetstream import Outgoing, publish_all
from pipeline.messages import decode, encode
from pipeline.stages import route

log = structlog.get_logger(__name__)

REQUIRED_KEYS = {"event_id", "event_type", "channels", "fingerprint", "accepted_at"}
TOPIC_CHUNK = 2000


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# Written out (core/rows.py): compiling it per batch cost ingest more than running it.
SUBSCRIBER_IDS = JoinedRead([Table(Subscriber, "s", only=("id", "user_id"))], "{s}", "s.user_id")


def _subscriber_ids(user_ids: set[str]) -> dict[str, int]:
    """Subscribers by user id, creating the ones not identified yet (as Knock does).

    Read first: usually every subscriber exists, and an insert that conflicts still costs a
    write and a round trip (measured by make bench, docs/BENCHMARKS.md).
    """
    found = {s.user_id: s.pk for (s,) in SUBSCRIBER_IDS.fetch(user_ids) if isinstance(s, Subscriber)}
    missing = user_ids - found.keys()
    if missing:
        Subscriber.objects.bulk_create(
            [Subscriber(user_id=user_id) for user_id in missing], ignore_conflicts=True
        )
        found.update(Subscriber.objects.filter(user_id__in=missing).values_list("user_id", "pk"))
    return found


def fan_out_chunk(event_pk: int, topic_key: str, after: int) -> tuple[list[int], int | None]:
    """Notifications for the next chunk of a topic's members (subscriber id > ``after``).

    Returns their ids and the cursor for the next chunk (None when the topic is done).
    Keyset pagination keeps a topic of any size out of memory; ``notification_unique``
    makes a replayed chunk a no-op that returns the same ids.
    """
    members = list(
        TopicMembership.objects.filter(topic__key=topic_key, subscriber_id__gt=after)
        .order_by("subscriber_id")
        .values_list("subscriber_id", flat=True)[:TOPIC_CHUNK]
    )
    if not members:
        return [], None
    ids = _notification_ids([(event_pk, sid) for sid in members])
    return ids, members[-1]


@dataclass(frozen=True)
class Persisted:
    notification_ids: list[int]  # of events sent to one userId
    topic_events: list[tuple[str, int, str]]  # (eventId, event pk, topic key): expanded in chunks


def persist_events(payloads: list[dict[str, Any]]) -> Persisted:
    """Store the batch's events and their direct notifications; list the topics to expand."""
    by_id: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        by_id.setdefault(payload["event_id"], payload)
    # No savepoint: inside persist_and_plan's transaction it would cost two round trips.
    with transaction.atomic(savepoint=False):
        events = insert_new(
            Event,
            [
                Event(
                    event_id=p["event_id"],
                    event_type=p["event_type"],
                    user_id=p.get("user_id") or "",
                    topic=p.get("topic") or "",
                    channels=p["channels"],
                    priority=p.get("priority") or "normal",
                    data=p.get("data") or {},
                    metadata=p.get("metadata") or {},
                    locale=p.get("locale") or "",
                    scheduled_at=_parse_time(p.get("scheduled_at")),
                    expires_at=_parse_time(p.get("expires_at")),
                    cancellation_key=p.get("cancellation_key") or "",
                    fingerprint=p["fingerprint"],
                    accepted_at=_parse_time(p["accepted_at"]),
                )
                for p in by_id.values()
            ],
            unique=["event_id"],
        )
        stored_before = by_id.keys() - {e.event_id for e in events}
        if stored_before:  # a replayed batch, or an eventId used before with another body
            events += Event.objects.filter(event_id__in=stored_before)
        events = [e for e in events if e.fingerprint == by_id[e.event_id]["fingerprint"]]
        direct = [e for e in events if e.user_id]
        subscriber_of = _subscriber_ids({e.user_id for e in direct})
        return Persisted(
            _notification_ids([(e.pk, subscriber_of[e.user_id]) for e in direct]),
            [(e.event_id, e.pk, e.topic) for e in events if e.topic],
        )


def persist_and_plan(payloads: list[dict[str, Any]]) -> tuple[Persisted, route.Plan]:
    """Store the batch, then route its direct notifications here rather than through the
    route stage: one hop, one fetch, one batch and one commit fewer per event (make bench,
    docs/BENCHMARKS.md). One transaction: a failure stores nothing, and the replayed batch
    starts again (route's Redis dedup claims fall back to the database, which holds none)."""
    with transaction.atomic():
        persisted = persist_events(payloads)
        ids = persisted.notification_ids
        return persisted, route.plan_deliveries(ids) if ids else route.Plan([], [])


def _notification_ids(pairs: list[tuple[int, int]]) -> list[int]:
    """Ids of the (event, subscriber) notifications, creating those not there yet."""
    created = insert_new(
        Notification,
        [Notification(event_id=e, subscriber_id=s) for e, s in pairs],
        unique=["event", "subscriber"],
    )
    if len(created) == len(pairs):
        return [n.pk for n in created]
    events, subscribers = {e for e, _ in pairs}, {s for _, s in pairs}
    found = Notification.objects.filter(event_id__in=events, subscriber_id__in=subscribers)
    wanted = set(pairs)
    return [pk for pk, e, s in found.values_list("pk", "event_id", "subscriber_id") if (e, s) in wanted]


async def _publish_route(ctx: StageContext, notification_ids: list[int]) -> None:
    subject = ctx.names.route_subject
    await publish_all(
        ctx.js,
        (Outgoing(subject, encode({"notification_id": nid}), f"n{nid}") for nid in notification_ids),
    )


async def fan_out(ctx: StageContext, event_pk: int, topic_key: str, msgs: list[Msg]) -> int:
    """Expand one topic event chunk by chunk: notifications, then their route messages.

    The event message is acked only after the last chunk; ``in_progress`` before each chunk
    keeps JetStream from handing it to another worker meanwhile.
    """
    after: int | None = 0
    total = 0
    while after is not None:
        for msg in msgs:
            await msg.in_progress()
        ids, after = await run_db(fan_out_chunk, event_pk, topic_key, after)
        await _publish_route(ctx, ids)
        total += len(ids)
    return total


async def ingest(batch: list[Msg], ctx: StageContext) -> None:
    payloads, readable = [], []
    for msg in batch:
        payload = decode(msg)
        if payload is None or not payload.keys() >= REQUIRED_KEYS:
            log.error("event_message_unreadable", subject=msg.subject)
            metrics.EVENTS_FAILED.labels("ingest", "unreadable").inc()
            await msg.term()
            continue
        payloads.append(payload)
        readable.append(msg)
    if not payloads:
        return
    persisted, plan = await run_db(persist_and_plan, payloads)
    await route.hand_on(ctx, plan)
    notifications = len(persisted.notification_ids)
    for event_id, event_pk, topic_key in persisted.topic_events:
        msgs = [m for m, p in zip(readable, payloads, strict=True) if p["event_id"] == event_id]
        notifications += await fan_out(ctx, event_pk, topic_key, msgs)
    for msg in readable:
        await msg.ack()
    metrics.EVENTS_PROCESSED.inc(len(payloads))
    log.info(
        "events_ingested",
        events=len(payloads),
        notifications=notifications,
        dispatched=len(plan.dispatch),
        runs=len(plan.runs),
    )
