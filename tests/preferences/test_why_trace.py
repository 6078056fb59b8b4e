"""The why-trace: decision, reason and time per recipient and channel, in the API and admin."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from notifications.models import Event
from preferences.models import EventTypeDefault, Preference, QuietHours
from tests.factories import SubscriberFactory
from tests.preferences.routing import route_to, utc

pytestmark = pytest.mark.django_db

NOW = utc(2026, 7, 1, 23, 30)


@pytest.fixture
def traced_event(settings: Any) -> str:
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "email": ["smtp"], "sms": ["twilio"]}
    subscriber = SubscriberFactory(user_id="traced")
    QuietHours.objects.create(subscriber=subscriber, start=time(22), end=time(7))
    Preference.objects.create(subscriber=subscriber, channel="sms", enabled=False)
    with time_machine.travel(NOW, tick=False):
        deliveries = route_to(subscriber, channels=["email", "sms", "in_app"], priority="normal")
    return deliveries["email"].notification.event.event_id


def test_event_detail_lists_decision_reason_and_time_per_channel(api_key: str, traced_event: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    response = client.get(f"/api/events/{traced_event}")
    assert response.status_code == 200
    (notification,) = response.json()["notifications"]
    trace = {
        d["channel"]: (d["decision"], d["decisionReason"], d["reason"], d["decidedAt"], d["notBefore"])
        for d in notification["deliveries"]
    }
    decided = "2026-07-01T23:30:00Z"
    assert trace == {
        "email": ("defer", "quiet_hours", "quiet_hours", decided, "2026-07-02T07:00:00Z"),
        "in_app": ("defer", "quiet_hours", "quiet_hours", decided, "2026-07-02T07:00:00Z"),
        "sms": ("suppress", "channel_opted_out", "channel_opted_out", decided, None),
    }
    assert {"status", "attempts", "createdAt"} <= notification["deliveries"][0].keys()  # nothing removed


def test_admin_event_page_shows_the_trace(traced_event: str) -> None:
    staff = User.objects.create_superuser("staff", "staff@example.com", "pw")
    client = Client()
    client.force_login(staff)
    event = Event.objects.get(event_id=traced_event)
    page = client.get(f"/admin/notifications/event/{event.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "why-trace" in html
    assert "channel_opted_out" in html
    assert "2026-07-02T07:00:00+00:00" in html


def test_admin_lists_preferences_and_defaults() -> None:
    staff = User.objects.create_superuser("staff2", "staff2@example.com", "pw")
    client = Client()
    client.force_login(staff)
    for url in (
        "/admin/preferences/preference/",
        "/admin/preferences/quiethours/",
        "/admin/preferences/eventtypedefault/",
        "/admin/preferences/eventtypedefault/add/",
    ):
        assert client.get(url).status_code == 200, url
    response = client.post(
        "/admin/preferences/eventtypedefault/add/",
        {"event_type": "digest", "channel": "email", "enabled": ""},
    )
    assert response.status_code == 302
    assert EventTypeDefault.objects.get(event_type="digest").enabled is False
