"""GET /api/deliveries, /api/deliveries/<id> and /api/deliveries/stats on known data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from deliveries.models import Delivery, DeliveryAttempt
from notifications.models import ApiKey
from tests.factories import DeliveryFactory, EventFactory, NotificationFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def reader() -> APIClient:
    _, raw = ApiKey.issue("reader", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def make(
    channel: str, status: str, created: datetime, latency_s: float | None = None, **kw: object
) -> Delivery:
    delivery = DeliveryFactory(channel=channel, status=status, **kw)
    sent_at = created + timedelta(seconds=latency_s) if latency_s is not None else None
    Delivery.objects.filter(pk=delivery.pk).update(created_at=created, sent_at=sent_at)
    return delivery


@pytest.fixture
def known_data() -> None:
    """Nine deliveries over three hours: email latencies 1..5 s, two sms failures, one push."""
    for i, latency in enumerate([1, 2, 3, 4, 5]):
        make("email", "sent", T0 + timedelta(minutes=10 * i), latency)
    signup = EventFactory(event_type="user.signup")
    for hour in (1, 2):
        make("sms", "failed", T0 + timedelta(hours=hour), notification=NotificationFactory(event=signup))
    make("push", "suppressed", T0 + timedelta(hours=2, minutes=5))
    make("in_app", "bounced", T0 + timedelta(hours=2, minutes=30))


def test_stats_totals_by_channel_and_status(reader: APIClient, known_data: None) -> None:
    body = reader.get("/api/deliveries/stats").json()
    assert body["total"] == 9
    assert body["byChannel"] == {"email": 5, "sms": 2, "push": 1, "in_app": 1}
    assert body["byStatus"] == {"sent": 5, "failed": 2, "suppressed": 1, "bounced": 1}


def test_stats_latency_percentiles_per_channel(reader: APIClient, known_data: None) -> None:
    latency = reader.get("/api/deliveries/stats").json()["latencyMs"]
    assert set(latency) == {"email"}
    assert latency["email"]["count"] == 5
    assert latency["email"]["p50"] == pytest.approx(3000, abs=1)
    assert 4000 <= latency["email"]["p95"] <= 5000
    assert latency["email"]["p99"] <= 5000


def test_stats_hourly_buckets_cover_the_range_with_zeros(reader: APIClient, known_data: None) -> None:
    params = {"interval": "hour", "since": T0.isoformat(), "until": (T0 + timedelta(hours=4)).isoformat()}
    body = reader.get("/api/deliveries/stats", params).json()
    assert body["interval"] == "hour"
    assert [b["total"] for b in body["buckets"]] == [5, 1, 3, 0]
    first, _, third, _ = body["buckets"]
    assert first["start"] == "2026-03-02T10:00:00Z"
    assert first["byChannel"] == {"email": 5}
    assert third["byStatus"] == {"failed": 1, "suppressed": 1, "bounced": 1}


def test_stats_daily_buckets_and_filters(reader: APIClient, known_data: None) -> None:
    params = {
        "interval": "day",
        "channel": "sms",
        "since": (T0 - timedelta(days=1)).isoformat(),
        "until": (T0 + timedelta(days=1)).isoformat(),
    }
    body = reader.get("/api/deliveries/stats", params).json()
    assert body["total"] == 2
    assert [(b["start"][:10], b["total"]) for b in body["buckets"]] == [
        ("2026-03-01", 0),
        ("2026-03-02", 2),
        ("2026-03-03", 0),
    ]


def test_stats_reject_bad_parameters(reader: APIClient) -> None:
    response = reader.get("/api/deliveries/stats", {"interval": "week", "status": "lost"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"interval", "status"}
    too_long = {"interval": "hour", "since": T0.isoformat(), "until": (T0 + timedelta(days=60)).isoformat()}
    assert "since" in reader.get("/api/deliveries/stats", too_long).json()["errors"]


def test_list_filters_by_user_event_type_and_time(reader: APIClient, known_data: None) -> None:
    alice = SubscriberFactory(user_id="alice")
    mine = make(
        "email", "sent", T0 + timedelta(days=1), 1, notification=NotificationFactory(subscriber=alice)
    )
    assert [d["id"] for d in reader.get("/api/deliveries", {"userId": "alice"}).json()["results"]] == [
        mine.pk
    ]
    by_type = reader.get("/api/deliveries", {"eventType": "user.signup"}).json()["results"]
    assert [(d["channel"], d["status"]) for d in by_type] == [("sms", "failed")] * 2
    window = {"since": T0.isoformat(), "until": (T0 + timedelta(minutes=15)).isoformat()}
    assert len(reader.get("/api/deliveries", window).json()["results"]) == 2


def test_list_pages_with_a_cursor_newest_first(reader: APIClient, known_data: None) -> None:
    seen: list[int] = []
    url: str | None = "/api/deliveries?limit=4"
    while url:
        page = reader.get(url).json()
        assert len(page["results"]) <= 4
        seen.extend(d["id"] for d in page["results"])
        url = page["next"]
    assert seen == sorted(Delivery.objects.values_list("id", flat=True), reverse=True)


def test_list_rejects_a_forged_cursor(reader: APIClient) -> None:
    response = reader.get("/api/deliveries", {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


def test_detail_includes_the_attempt_log(reader: APIClient) -> None:
    delivery = make("email", "sent", T0, 2)
    DeliveryAttempt.objects.create(
        delivery=delivery, number=1, provider="smtp", outcome="transient", error="421"
    )
    DeliveryAttempt.objects.create(delivery=delivery, number=2, provider="smtp", outcome="ok")
    body = reader.get(f"/api/deliveries/{delivery.pk}").json()
    assert body["id"] == delivery.pk
    assert body["eventId"] == delivery.notification.event.event_id
    assert [(a["number"], a["outcome"]) for a in body["attemptLog"]] == [(1, "transient"), (2, "ok")]
    assert reader.get("/api/deliveries/999999999").status_code == 404


def test_deliveries_need_an_api_key_with_read_scope() -> None:
    assert APIClient().get("/api/deliveries").status_code == 401
    _, raw = ApiKey.issue("writer", scopes=["events:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/deliveries/stats").status_code == 403
