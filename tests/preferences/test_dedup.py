"""Dedup of route decisions: Redis SET NX in front, the delivery's unique key as the truth."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from core.redis_client import raw_redis, redis_key
from deliveries.models import Delivery
from notifications.models import Notification
from pipeline.stages.route import plan_deliveries
from preferences.models import Preference
from tests.factories import SubscriberFactory
from tests.preferences.routing import make_event, utc

pytestmark = pytest.mark.django_db

T0 = utc(2026, 5, 4, 12, 0, 0)


@pytest.fixture(autouse=True)
def email_limited(settings: Any) -> None:
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "email": ["smtp"]}
    settings.RELAY_RATE_LIMITS = {"email": "2/h"}


def new_notification(subscriber: Any) -> Notification:
    return Notification.objects.create(event=make_event(user_id=subscriber.user_id), subscriber=subscriber)


def statuses(notification: Notification) -> list[tuple[str, str]]:
    return list(Delivery.objects.filter(notification=notification).values_list("status", "reason"))


@time_machine.travel(T0, tick=False)
def test_replayed_route_message_keeps_its_first_decision_and_budget(backend: str) -> None:
    subscriber = SubscriberFactory()
    first = new_notification(subscriber)
    assert plan_deliveries([first.pk]).dispatch != []
    Preference.objects.create(subscriber=subscriber, channel="email", enabled=False)
    for _ in range(3):
        plan_deliveries([first.pk])
    assert statuses(first) == [("pending", "")]
    Preference.objects.filter(subscriber=subscriber).delete()
    second = new_notification(subscriber)
    plan_deliveries([second.pk])
    assert statuses(second) == [("pending", "")]  # the replays did not use the budget of 2
    third = new_notification(subscriber)
    plan_deliveries([third.pk])
    assert statuses(third) == [("suppressed", "rate_limited")]


@time_machine.travel(T0, tick=False)
def test_a_claim_without_a_row_is_decided_again(settings: Any) -> None:
    client = raw_redis()
    if client is None:
        pytest.skip("REDIS_URL not set")
    notification = new_notification(SubscriberFactory())
    # A worker claimed the pair in Redis, then crashed before its commit.
    client.set(redis_key("dedup", notification.pk, "email"), 1, ex=60)
    plan_deliveries([notification.pk])
    assert statuses(notification) == [("pending", "")]
