"""Build events and notifications in the database and route them through the real stage code."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from deliveries.models import Delivery
from notifications.models import Event, Notification, Subscriber
from pipeline.stages.route import plan_deliveries

_ids = itertools.count(1)


def make_event(**fields: Any) -> Event:
    values: dict[str, Any] = {
        "event_id": f"evt_route_{timezone.now().timestamp()}_{next(_ids)}",
        "event_type": "account",
        "channels": ["email"],
        "priority": "normal",
        "fingerprint": "x" * 64,
        "accepted_at": timezone.now(),
    }
    values.update(fields)
    return Event.objects.create(**values)


def route_to(subscriber: Subscriber, **event_fields: Any) -> dict[str, Delivery]:
    """Route one new event to one subscriber; the deliveries by channel."""
    event = make_event(user_id=subscriber.user_id, **event_fields)
    notification = Notification.objects.create(event=event, subscriber=subscriber)
    plan_deliveries([notification.pk])
    return {d.channel: d for d in Delivery.objects.filter(notification=notification)}


def outcome(delivery: Delivery) -> tuple[str, str]:
    return (delivery.status, delivery.reason)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
