"""Sliding-window rate limits per (subscriber, channel): Redis, and the database without it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from deliveries.models import Delivery
from notifications.models import Notification
from pipeline.stages.route import plan_deliveries
from preferences.models import QuietHours
from tests.factories import SubscriberFactory
from tests.preferences.routing import make_event, outcome, route_to, utc

pytestmark = pytest.mark.django_db

T0 = utc(2026, 5, 4, 12, 0, 0)


@pytest.fixture(autouse=True)
def email_limited(settings: Any) -> None:
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "email": ["smtp"], "in_app": ["inbox"]}
    settings.RELAY_RATE_LIMITS = {"email": "2/60s", "sms": "", "push": "", "in_app": ""}


def email_at(subscriber: Any, moment: Any, **fields: Any) -> tuple[str, str]:
    with time_machine.travel(moment, tick=False):
        return outcome(route_to(subscriber, **fields)["email"])


def test_rate_limit_window_edges(backend: str) -> None:
    subscriber = SubscriberFactory()
    assert email_at(subscriber, T0) == ("pending", "")
    assert email_at(subscriber, T0 + timedelta(seconds=30)) == ("pending", "")
    assert email_at(subscriber, T0 + timedelta(seconds=59, milliseconds=999)) == (
        "suppressed",
        "rate_limited",
    )
    # The first send leaves the window exactly 60 s after it was made.
    assert email_at(subscriber, T0 + timedelta(seconds=60)) == ("pending", "")
    assert email_at(subscriber, T0 + timedelta(seconds=61)) == ("suppressed", "rate_limited")
    assert email_at(subscriber, T0 + timedelta(seconds=90)) == ("pending", "")


def test_limits_are_per_subscriber_and_channel(backend: str) -> None:
    first, second = SubscriberFactory(), SubscriberFactory()
    for _ in range(2):
        assert email_at(first, T0) == ("pending", "")
    assert email_at(first, T0) == ("suppressed", "rate_limited")
    assert email_at(second, T0) == ("pending", "")
    with time_machine.travel(T0, tick=False):
        assert outcome(route_to(first, channels=["in_app"])["in_app"]) == ("pending", "")


def test_one_batch_counts_each_of_its_messages(backend: str) -> None:
    subscriber = SubscriberFactory()
    notifications = [
        Notification.objects.create(event=make_event(user_id=subscriber.user_id), subscriber=subscriber)
        for _ in range(5)
    ]
    with time_machine.travel(T0, tick=False):
        plan_deliveries([n.pk for n in notifications])
    statuses = sorted(
        Delivery.objects.filter(notification__in=notifications).values_list("status", flat=True)
    )
    assert statuses == ["pending", "pending", "suppressed", "suppressed", "suppressed"]


def test_urgent_bypasses_the_rate_limit(backend: str) -> None:
    subscriber = SubscriberFactory()
    for _ in range(2):
        email_at(subscriber, T0)
    assert email_at(subscriber, T0, priority="urgent") == ("pending", "")
    assert email_at(subscriber, T0, priority="high") == ("suppressed", "rate_limited")


def test_missing_address_uses_no_budget_and_rate_limit_wins_over_quiet_hours(backend: str) -> None:
    nobody = SubscriberFactory(email="")
    for _ in range(3):
        assert email_at(nobody, T0) == ("suppressed", "no_address")
    sleeper = SubscriberFactory()
    QuietHours.objects.create(
        subscriber=sleeper, start=utc(2026, 1, 1, 11).time(), end=utc(2026, 1, 1, 13).time()
    )
    assert email_at(sleeper, T0) == ("deferred", "quiet_hours")
    assert email_at(sleeper, T0) == ("deferred", "quiet_hours")
    assert email_at(sleeper, T0) == ("suppressed", "rate_limited")


def test_redis_down_falls_back_to_the_database(settings: Any) -> None:
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL not set")
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }
    subscriber = SubscriberFactory()
    assert [email_at(subscriber, T0) for _ in range(3)] == [
        ("pending", ""),
        ("pending", ""),
        ("suppressed", "rate_limited"),
    ]
