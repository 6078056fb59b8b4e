"""Quiet hours: deferral until the window ends, across midnight, weekdays and DST changes."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
import time_machine

from preferences.models import Preference, QuietHours
from tests.factories import SubscriberFactory
from tests.preferences.routing import outcome, route_to, utc

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def email_configured(settings: Any) -> None:
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "email": ["smtp"]}


def sleeper(start: time, end: time, tz: str = "UTC", days: list[int] | None = None) -> Any:
    subscriber = SubscriberFactory(timezone=tz)
    QuietHours.objects.create(subscriber=subscriber, start=start, end=end, days=days or [])
    return subscriber


def email_at(subscriber: Any, moment: Any, **fields: Any) -> Any:
    with time_machine.travel(moment, tick=False):
        return route_to(subscriber, **fields)["email"]


def test_quiet_hours_defer_until_window_ends() -> None:
    subscriber = sleeper(time(12), time(14), "Europe/Vienna")  # UTC+2 in summer
    delivery = email_at(subscriber, utc(2026, 7, 1, 10, 30))
    assert outcome(delivery) == ("deferred", "quiet_hours")
    assert delivery.not_before == utc(2026, 7, 1, 12, 0)
    assert outcome(email_at(subscriber, utc(2026, 7, 1, 12, 0))) == ("pending", "")
    assert outcome(email_at(subscriber, utc(2026, 7, 1, 9, 59))) == ("pending", "")


def test_window_crossing_midnight_ends_the_next_morning() -> None:
    subscriber = sleeper(time(22), time(7), "Asia/Tokyo")  # UTC+9, no DST
    evening = email_at(subscriber, utc(2026, 7, 1, 14, 0))  # 23:00 in Tokyo
    assert outcome(evening) == ("deferred", "quiet_hours")
    assert evening.not_before == utc(2026, 7, 1, 22, 0)  # 07:00 on July 2 in Tokyo
    morning = email_at(subscriber, utc(2026, 7, 1, 20, 0))  # 05:00 in Tokyo
    assert morning.not_before == utc(2026, 7, 1, 22, 0)
    assert outcome(email_at(subscriber, utc(2026, 7, 1, 12, 59))) == ("pending", "")  # 21:59
    assert outcome(email_at(subscriber, utc(2026, 7, 1, 22, 0))) == ("pending", "")  # 07:00


def test_days_of_week_name_the_night_the_window_starts() -> None:
    subscriber = sleeper(time(22), time(7), days=[4, 5])  # Friday and Saturday nights
    assert outcome(email_at(subscriber, utc(2026, 7, 3, 23, 0))) == ("deferred", "quiet_hours")  # Fri 23:00
    assert outcome(email_at(subscriber, utc(2026, 7, 4, 6, 0))) == ("deferred", "quiet_hours")  # Sat 06:00
    assert outcome(email_at(subscriber, utc(2026, 7, 6, 6, 0))) == ("pending", "")  # Mon 06:00: Sun night
    assert outcome(email_at(subscriber, utc(2026, 7, 2, 23, 0))) == ("pending", "")  # Thu 23:00


def test_window_over_the_spring_dst_change_ends_at_local_wall_time() -> None:
    # New York moves from EST (UTC-5) to EDT (UTC-4) at 02:00 on Sunday 2026-03-08.
    subscriber = sleeper(time(22), time(7), "America/New_York")
    delivery = email_at(subscriber, utc(2026, 3, 8, 4, 0))  # 23:00 EST on Saturday
    assert delivery.not_before == utc(2026, 3, 8, 11, 0)  # 07:00 EDT, not 12:00 UTC
    delivery = email_at(subscriber, utc(2026, 3, 8, 10, 30))  # 06:30 EDT
    assert outcome(delivery) == ("deferred", "quiet_hours")
    assert outcome(email_at(subscriber, utc(2026, 3, 8, 11, 0))) == ("pending", "")


def test_window_over_the_autumn_dst_change_ends_at_local_wall_time() -> None:
    # New York moves back from EDT to EST at 02:00 on Sunday 2026-11-01.
    subscriber = sleeper(time(22), time(7), "America/New_York")
    delivery = email_at(subscriber, utc(2026, 11, 1, 3, 0))  # 23:00 EDT on Saturday
    assert delivery.not_before == utc(2026, 11, 1, 12, 0)  # 07:00 EST
    assert outcome(email_at(subscriber, utc(2026, 11, 1, 11, 30))) == ("deferred", "quiet_hours")  # 06:30 EST


def test_window_ending_inside_the_skipped_hour_ends_at_the_jump() -> None:
    subscriber = sleeper(time(1), time(2, 30), "America/New_York")
    delivery = email_at(subscriber, utc(2026, 3, 8, 6, 30))  # 01:30 EST; 02:30 never comes
    assert delivery.not_before == utc(2026, 3, 8, 7, 0)  # 03:00 EDT, the first instant after


def test_urgent_bypasses_quiet_hours() -> None:
    subscriber = sleeper(time(0), time(23, 59))
    assert outcome(email_at(subscriber, utc(2026, 7, 1, 12), priority="urgent")) == ("pending", "")


def test_preference_row_window_overrides_the_subscriber_window() -> None:
    subscriber = sleeper(time(22), time(7), "Europe/Vienna")
    Preference.objects.create(
        subscriber=subscriber,
        channel="email",
        event_type="digest",
        quiet_hours_start=time(8),
        quiet_hours_end=time(18),
    )
    digest = email_at(subscriber, utc(2026, 7, 1, 10, 0), event_type="digest")  # 12:00 in Vienna
    assert outcome(digest) == ("deferred", "quiet_hours")
    assert digest.not_before == utc(2026, 7, 1, 16, 0)
    assert outcome(email_at(subscriber, utc(2026, 7, 1, 10, 0))) == ("pending", "")  # other types
    assert outcome(email_at(subscriber, utc(2026, 7, 1, 21, 0), event_type="digest")) == ("pending", "")


def test_scheduled_event_in_quiet_hours_waits_for_the_later_of_both() -> None:
    subscriber = sleeper(time(22), time(7))
    delivery = email_at(subscriber, utc(2026, 7, 1, 20, 0), scheduled_at=utc(2026, 7, 1, 23, 0))
    assert (delivery.status, delivery.not_before) == ("scheduled", utc(2026, 7, 2, 7, 0))
