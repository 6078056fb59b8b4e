"""A delivery's life as clients and staff see it: its timeline, its stored decision, and
moves the lifecycle refuses (deliveries/lifecycle.py)."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient
from structlog.testing import capture_logs

from deliveries.models import DeadLetter, Delivery, DeliveryTransition
from deliveries.reasons import Reason
from notifications.models import Event
from pipeline.scheduler import run_scheduler
from tests.conftest import ROOT
from tests.factories import SubscriberFactory
from tests.fakes.twilio import TwilioFake
from tests.providers.conftest import SendEvent, delivery_of

pytestmark = pytest.mark.django_db(transaction=True)


def timeline_of(api: APIClient, event_id: str, channel: str) -> dict[str, Any]:
    response = api.get(f"/api/events/{event_id}")
    assert response.status_code == 200, response.content
    (notification,) = response.json()["notifications"]
    return next(d for d in notification["deliveries"] if d["channel"] == channel)


async def test_timeline_shows_decided_scheduled_released_sent_delivered_with_times(
    pipeline: None, twilio_fake: TwilioFake, public_url: str, send_event: SendEvent, api: APIClient
) -> None:
    await sync_to_async(SubscriberFactory)(user_id="life-sms", phone="+14155550180")
    send_at = timezone.now() + timedelta(seconds=2)
    event_id = await send_event("life-sms", ["sms"], scheduledAt=send_at.isoformat())
    await delivery_of(event_id, "sms", frozenset({"scheduled"}))
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(stop, interval=0.2))
    try:
        sent = await delivery_of(event_id, "sms", frozenset({"sent"}))
    finally:
        stop.set()
        await scheduler
    assert await asyncio.to_thread(twilio_fake.send_status, sent.provider_message_id, "delivered") == 204

    delivery = await sync_to_async(timeline_of)(api, event_id, "sms")

    steps = [(s["transition"], s["status"], s["reason"]) for s in delivery["timeline"]]
    assert steps == [
        ("decide", "scheduled", "scheduled"),
        ("release_due", "pending", "due"),
        ("mark_sent", "sent", ""),
        ("report", "delivered", "delivered"),
    ]
    times = [datetime.fromisoformat(s["at"]) for s in delivery["timeline"]]
    assert times == sorted(times) and times[1] >= send_at
    assert [s["attempt"] for s in delivery["timeline"]] == [0, 0, 1, 1]
    # The decision is the one routing made, kept apart from where the delivery went since.
    assert (delivery["decision"], delivery["decisionReason"], delivery["decisionRule"]) == (
        "defer",
        "scheduled",
        "schedule",
    )
    assert (delivery["status"], delivery["reason"]) == ("delivered", "delivered")


async def test_expiry_after_routing_is_an_outcome_not_a_routing_suppression(
    pipeline: None, send_event: SendEvent, api: APIClient
) -> None:
    """Routed to send, then expired before it went out: the decision still says send."""
    await sync_to_async(SubscriberFactory)(user_id="life-expiry")
    event_id = await send_event("life-expiry", ["in_app"])
    sent = await delivery_of(event_id, "in_app")
    # As if it were still waiting for a retry when its event expired:
    await Delivery.objects.filter(pk=sent.pk).aupdate(status="pending")
    await Event.objects.filter(event_id=event_id).aupdate(expires_at=timezone.now() - timedelta(seconds=1))

    totals = await run_scheduler(asyncio.Event(), once=True)

    assert totals.expired == 1
    delivery = await sync_to_async(timeline_of)(api, event_id, "in_app")
    assert (delivery["status"], delivery["reason"]) == ("suppressed", "expired")
    assert (delivery["decision"], delivery["decisionReason"]) == ("send", "")
    assert delivery["timeline"][-1]["transition"] == "expire"


async def test_a_report_for_a_final_delivery_is_refused_logged_and_not_written(
    pipeline: None, twilio_fake: TwilioFake, public_url: str, send_event: SendEvent
) -> None:
    await sync_to_async(SubscriberFactory)(user_id="life-final", phone="+14155550181")
    event_id = await send_event("life-final", ["sms"])
    sent = await delivery_of(event_id, "sms", frozenset({"sent"}))
    sid = sent.provider_message_id
    assert await asyncio.to_thread(twilio_fake.send_status, sid, "undelivered", "30003") == 204
    rows_before = await DeliveryTransition.objects.filter(delivery_id=sent.pk).acount()

    with capture_logs() as logs:
        assert await asyncio.to_thread(twilio_fake.send_status, sid, "delivered") == 204

    failed = await Delivery.objects.aget(pk=sent.pk)
    assert (failed.status, failed.reason, failed.delivered_at) == ("failed", "undelivered", None)
    assert await DeliveryTransition.objects.filter(delivery_id=sent.pk).acount() == rows_before
    (refusal,) = [line for line in logs if line["event"] == "delivery_transition_refused"]
    assert (refusal["delivery_id"], refusal["status"], refusal["to"]) == (sent.pk, "failed", "delivered")


async def test_only_a_replay_moves_a_failed_delivery_and_the_timeline_says_so(
    pipeline: None, twilio_fake: TwilioFake, public_url: str, send_event: SendEvent, api: APIClient
) -> None:
    await sync_to_async(SubscriberFactory)(user_id="life-replay", phone="+14155550182")
    twilio_fake.refuse["+14155550182"] = 21610  # the recipient replied STOP: permanent
    event_id = await send_event("life-replay", ["sms"])
    failed = await delivery_of(event_id, "sms", frozenset({"failed"}))
    assert (failed.reason, failed.attempts) == ("provider_rejected", 1)
    assert failed.last_error.startswith("unsubscribed")
    del twilio_fake.refuse["+14155550182"]  # they opted in again

    await sync_to_async(call_command)("replay_dead_letters", "--channel", "sms")
    await delivery_of(event_id, "sms", frozenset({"sent"}))

    delivery = await sync_to_async(timeline_of)(api, event_id, "sms")
    assert [(s["transition"], s["status"]) for s in delivery["timeline"]] == [
        ("decide", "pending"),
        ("dead_letter", "failed"),
        ("replay", "pending"),
        ("mark_sent", "sent"),
    ]
    assert delivery["lastError"] == ""
    assert await DeadLetter.objects.filter(delivery_id=failed.pk).aexists()


def test_every_reason_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Delivery reasons") :]
    table = section[: section.index("\n\n", section.index("| reason |"))]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))
    assert documented == {r.value for r in Reason if r.value}
