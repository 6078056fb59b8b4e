"""The scheduler: due deferred/scheduled deliveries go out once, overdue ones expire."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from io import StringIO
from typing import Any

import nats
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from core.names import names
from deliveries.models import Delivery
from notifications.models import Notification, Subscriber
from pipeline.scheduler import run_scheduler
from realtime.models import InboxMessage
from tests.conftest import purge_streams, start_manage, wait_until
from tests.factories import InboxMessageFactory, SubscriberFactory
from tests.preferences.routing import make_event

pytestmark = [pytest.mark.django_db(transaction=True)]


@sync_to_async
def waiting_deliveries(
    count: int, status: str, not_before: Any, channel: str = "in_app", **event: Any
) -> list[int]:
    """``count`` subscribers, one event, one waiting delivery each."""
    tag = timezone.now().timestamp()
    subscribers = Subscriber.objects.bulk_create(
        [Subscriber(user_id=f"sched-{tag}-{i}", email=f"s{i}@example.com") for i in range(count)]
    )
    ev = make_event(topic="sched", channels=[channel], **event)
    notifications = Notification.objects.bulk_create(
        [Notification(event=ev, subscriber=s) for s in subscribers]
    )
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                notification=n, channel=channel, status=status, reason="quiet_hours", not_before=not_before
            )
            for n in notifications
        ]
    )
    return [d.pk for d in deliveries]


@sync_to_async
def states(ids: list[int]) -> list[tuple[str, str]]:
    return sorted(set(Delivery.objects.filter(pk__in=ids).values_list("status", "reason")))


async def work_messages() -> int:
    nc = await nats.connect(settings.NATS_URL)
    try:
        return int((await nc.jetstream().stream_info(names().work_stream)).state.messages)
    finally:
        await nc.close()


async def test_scheduler_sends_due_deferred_and_scheduled_deliveries(pipeline: None) -> None:
    past = timezone.now() - timedelta(seconds=1)
    deferred = await waiting_deliveries(3, "deferred", past)
    scheduled = await waiting_deliveries(2, "scheduled", past)
    later = await waiting_deliveries(2, "deferred", timezone.now() + timedelta(hours=1))
    totals = await run_scheduler(asyncio.Event(), once=True)
    assert totals.published == 5
    await wait_until(lambda: _all_sent(deferred + scheduled))
    assert await states(later) == [("deferred", "quiet_hours")]


async def test_an_opt_out_made_while_a_delivery_waited_suppresses_it(pipeline: None, api_key: str) -> None:
    past = timezone.now() - timedelta(seconds=1)
    opted_out, still_in = await waiting_deliveries(2, "deferred", past)

    @sync_to_async
    def opt_out_of_in_app(delivery_id: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        user = Delivery.objects.get(pk=delivery_id).notification.subscriber.user_id
        body = {"userId": user, "channel": "in_app", "eventType": "*", "enabled": False}
        return int(client.post("/api/preferences", body, format="json").status_code)

    assert await opt_out_of_in_app(opted_out) == 201
    assert (await run_scheduler(asyncio.Event(), once=True)).published == 2
    await wait_until(lambda: _all_sent([still_in]))
    await wait_until(lambda: _final([opted_out]))
    assert await states([opted_out]) == [("suppressed", "channel_opted_out")]
    assert not await sync_to_async(InboxMessage.objects.filter(delivery_id=opted_out).exists)()


@sync_to_async
def _final(ids: list[int]) -> bool:
    return not Delivery.objects.filter(pk__in=ids, status__in=["pending", "deferred"]).exists()


@sync_to_async
def _all_sent(ids: list[int]) -> bool:
    return set(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"sent"}


async def test_scheduler_expires_what_was_not_sent_by_expires_at(streams: None) -> None:
    now = timezone.now()
    gone = now - timedelta(seconds=1)
    waiting = await waiting_deliveries(2, "scheduled", now + timedelta(hours=1), expires_at=gone)
    retrying = await waiting_deliveries(1, "pending", None, expires_at=gone)
    due_but_expired = await waiting_deliveries(1, "deferred", gone, expires_at=gone)
    still_valid = await waiting_deliveries(
        1, "scheduled", now + timedelta(hours=1), expires_at=now + timedelta(days=1)
    )
    totals = await run_scheduler(asyncio.Event(), once=True)
    assert (totals.published, totals.expired) == (0, 4)
    assert await states(waiting + retrying + due_but_expired) == [("suppressed", "expired")]
    assert await states(still_valid) == [("scheduled", "quiet_hours")]


async def test_two_schedulers_racing_publish_each_delivery_once(streams: None) -> None:
    await purge_streams(events=False)
    ids = await waiting_deliveries(200, "deferred", timezone.now() - timedelta(seconds=1))
    racers = [start_manage("scheduler", "--once", "--batch", "10") for _ in range(2)]
    outputs = await asyncio.gather(*(asyncio.to_thread(p.communicate, timeout=60) for p in racers))
    published = []
    for process, (stdout, _) in zip(racers, outputs, strict=True):
        assert process.returncode == 0, stdout.decode()[-2000:]
        summary = stdout.decode().strip().splitlines()[-1]
        published.append(int(summary.split()[0].removeprefix("published=")))
    assert sum(published) == 200
    assert await states(ids) == [("pending", "due")]
    assert await work_messages() == 200
    await purge_streams(events=False)


async def test_scheduled_event_waits_then_the_running_scheduler_sends_it(
    pipeline: None, api: Any, event_body: Any
) -> None:
    send_at = timezone.now() + timedelta(seconds=3)
    body = event_body(userId="sched-e2e", channels=["in_app"], scheduledAt=send_at.isoformat())
    post = sync_to_async(lambda: api.post("/api/events", body, format="json").status_code)
    assert await post() == 202
    delivery = sync_to_async(
        lambda: Delivery.objects.filter(notification__event__event_id=body["eventId"]).first()
    )
    scheduled = await wait_until(delivery)
    assert (scheduled.status, scheduled.not_before) == ("scheduled", send_at)
    stop = asyncio.Event()
    loop = asyncio.create_task(run_scheduler(stop, interval=0.2))
    try:
        sent = await wait_until(lambda: _sent(delivery), timeout=30)
    finally:
        stop.set()
        await loop
    assert sent.sent_at >= send_at


async def _sent(load: Any) -> Any:
    delivery = await load()
    return delivery if delivery.status == "sent" else None


async def test_pending_delivery_whose_message_was_lost_is_dispatched_again(pipeline: None) -> None:
    """A crash between a commit and its publish leaves a pending row with no message."""
    stranded = await waiting_deliveries(2, "pending", None)
    fresh = await waiting_deliveries(1, "pending", None)
    long_ago = timezone.now() - timedelta(seconds=settings.RELAY_STRANDED_AFTER + 60)
    await sync_to_async(lambda: Delivery.objects.filter(pk__in=stranded).update(updated_at=long_ago))()
    totals = await run_scheduler(asyncio.Event(), once=True)
    assert (totals.published, totals.redispatched) == (0, 2)
    await wait_until(lambda: _all_sent(stranded))
    assert await states(fresh) == [("pending", "quiet_hours")]


async def test_two_schedulers_racing_wake_each_snooze_and_purge_each_old_message_once(streams: None) -> None:
    """The inbox jobs too: a snooze is woken (and counted back) once, an old message is deleted
    (and uncounted) once, whichever of two schedulers gets to it."""
    now = timezone.now()

    @sync_to_async
    def inbox_with_due_and_old_messages() -> None:
        subscriber = SubscriberFactory(user_id="sched-race")
        InboxMessageFactory.create_batch(60, subscriber=subscriber, snoozed_until=now - timedelta(seconds=1))
        old = InboxMessageFactory.create_batch(60, subscriber=subscriber)
        InboxMessage.objects.filter(pk__in=[m.pk for m in old]).update(created_at=now - timedelta(days=400))

    await inbox_with_due_and_old_messages()
    racers = [start_manage("scheduler", "--once", "--batch", "5") for _ in range(2)]
    outputs = await asyncio.gather(*(asyncio.to_thread(p.communicate, timeout=60) for p in racers))
    totals: Counter[str] = Counter()
    for process, (stdout, _) in zip(racers, outputs, strict=True):
        assert process.returncode == 0, stdout.decode()[-2000:]
        summary = stdout.decode().strip().splitlines()[-1]
        totals.update({k: int(v) for k, v in (pair.split("=") for pair in summary.split())})
    assert (totals["resurfaced"], totals["purged"]) == (60, 60)
    left = sync_to_async(lambda: list(InboxMessage.objects.filter(subscriber__user_id="sched-race")))
    assert [m.snoozed_until for m in await left()] == [None] * 60
    repaired = StringIO()
    await sync_to_async(call_command)("repair_inbox_counters", "sched-race", stdout=repaired)
    assert repaired.getvalue().splitlines() == ["checked 1 subscribers, 0 counters fixed"]
