"""The preference engine's rules, and the order between them, through the route stage."""

from __future__ import annotations

from typing import Any

import pytest

from preferences.models import EventTypeDefault, Preference
from tests.factories import DeviceFactory, SubscriberFactory
from tests.preferences.routing import outcome, route_to

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def channels_configured(settings: Any) -> None:
    settings.RELAY_PROVIDERS = {"email": ["smtp"], "sms": ["twilio"], "push": ["fcm"], "in_app": ["inbox"]}


def prefer(subscriber: Any, channel: str = "*", event_type: str = "*", enabled: bool = False) -> None:
    Preference.objects.create(subscriber=subscriber, channel=channel, event_type=event_type, enabled=enabled)


def test_without_preferences_every_addressed_channel_is_sent() -> None:
    subscriber = SubscriberFactory()
    DeviceFactory(subscriber=subscriber)
    deliveries = route_to(subscriber, channels=["email", "sms", "push", "in_app"])
    assert {c: outcome(d) for c, d in deliveries.items()} == {
        "email": ("pending", ""),
        "sms": ("pending", ""),
        "push": ("pending", ""),
        "in_app": ("pending", ""),
    }


def test_global_opt_out_suppresses_every_channel_even_urgent() -> None:
    subscriber = SubscriberFactory()
    prefer(subscriber)
    prefer(subscriber, "email", "account", enabled=True)  # an opt-in cannot beat the global opt-out
    deliveries = route_to(subscriber, channels=["email", "in_app"], priority="urgent")
    assert outcome(deliveries["email"]) == ("suppressed", "opted_out")
    assert outcome(deliveries["in_app"]) == ("suppressed", "opted_out")


def test_channel_opt_out_comes_before_the_event_type_preference() -> None:
    subscriber = SubscriberFactory()
    prefer(subscriber, "email")
    prefer(subscriber, "email", "account", enabled=True)
    deliveries = route_to(subscriber, channels=["email", "in_app"])
    assert outcome(deliveries["email"]) == ("suppressed", "channel_opted_out")
    assert outcome(deliveries["in_app"]) == ("pending", "")


def test_event_type_opt_out_per_channel_and_for_all_channels() -> None:
    only_sms = SubscriberFactory()
    prefer(only_sms, "sms", "account")
    deliveries = route_to(only_sms, channels=["email", "sms"])
    assert outcome(deliveries["sms"]) == ("suppressed", "event_type_opted_out")
    assert outcome(deliveries["email"]) == ("pending", "")
    everywhere = SubscriberFactory()
    prefer(everywhere, "*", "account")
    deliveries = route_to(everywhere, channels=["email", "sms"], priority="urgent")
    assert outcome(deliveries["sms"]) == ("suppressed", "event_type_opted_out")
    assert outcome(deliveries["email"]) == ("suppressed", "event_type_opted_out")
    assert outcome(route_to(everywhere, event_type="billing")["email"]) == ("pending", "")


def test_channel_specific_row_beats_the_all_channels_row() -> None:
    subscriber = SubscriberFactory()
    prefer(subscriber, "*", "account")
    prefer(subscriber, "email", "account", enabled=True)
    deliveries = route_to(subscriber, channels=["email", "sms"])
    assert outcome(deliveries["email"]) == ("pending", "")
    assert outcome(deliveries["sms"]) == ("suppressed", "event_type_opted_out")


def test_default_off_suppresses_normal_events_but_not_urgent_ones() -> None:
    EventTypeDefault.objects.create(event_type="digest", channel="email", enabled=False)
    EventTypeDefault.objects.create(event_type="digest", channel="*", enabled=True)
    subscriber = SubscriberFactory()
    normal = route_to(subscriber, event_type="digest", channels=["email", "sms"])
    assert outcome(normal["email"]) == ("suppressed", "disabled_by_default")
    assert outcome(normal["sms"]) == ("pending", "")
    assert outcome(route_to(subscriber, event_type="digest", priority="urgent")["email"]) == ("pending", "")


def test_explicit_opt_in_overrides_a_default_off() -> None:
    EventTypeDefault.objects.create(event_type="digest", channel="*", enabled=False)
    subscriber = SubscriberFactory()
    prefer(subscriber, "email", "digest", enabled=True)
    deliveries = route_to(subscriber, event_type="digest", channels=["email", "sms"])
    assert outcome(deliveries["email"]) == ("pending", "")
    assert outcome(deliveries["sms"]) == ("suppressed", "disabled_by_default")


def test_opt_out_is_reported_before_a_missing_address() -> None:
    subscriber = SubscriberFactory(email="", phone="")
    prefer(subscriber, "email")
    deliveries = route_to(subscriber, channels=["email", "sms", "push"])
    assert outcome(deliveries["email"]) == ("suppressed", "channel_opted_out")
    assert outcome(deliveries["sms"]) == ("suppressed", "no_address")
    assert outcome(deliveries["push"]) == ("suppressed", "no_address")
