"""GET /api/events, the activity feed: events newest first with their delivery summaries,
the deliveries list's filters and cursors, 400 naming a bad filter, and two queries a page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from deliveries.selectors import list_events
from deliveries.serializers import EventListParamsSerializer
from notifications.models import ApiKey, Event, Subscriber
from tests.factories import DeliveryFactory, EventFactory, NotificationFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def client_with(*scopes: str) -> APIClient:
    _, raw = ApiKey.issue("feed", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def reader() -> APIClient:
    return client_with("read")


def event(event_id: str, stored: datetime, deliveries: dict[str, str], user: str = "ann", **kw: Any) -> Event:
    """An event stored at ``stored`` with one notification for ``user`` and a delivery per channel."""
    stored_event = EventFactory(event_id=event_id, user_id=user if "topic" not in kw else "", **kw)
    Event.objects.filter(pk=stored_event.pk).update(created_at=stored)
    subscriber = Subscriber.objects.filter(user_id=user).first() or SubscriberFactory(user_id=user)
    notification = NotificationFactory(event=stored_event, subscriber=subscriber)
    for channel, status in deliveries.items():
        DeliveryFactory(notification=notification, channel=channel, status=status)
    return stored_event


@pytest.fixture
def activity() -> None:
    """Four events an hour apart: e1 (ann, account), e2 (bob, account, email failed),
    e3 (a topic event reaching ann, order.shipped), e4 (ann, account, no delivery yet: a
    workflow waiting, say)."""
    event("e1", T0, {"email": "sent", "in_app": "delivered"})
    event("e2", T0 + timedelta(hours=1), {"email": "failed", "sms": "sent"}, user="bob")
    event("e3", T0 + timedelta(hours=2), {"in_app": "sent"}, event_type="order.shipped", topic="team")
    event("e4", T0 + timedelta(hours=3), {})


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["eventId"] for item in response.json()["results"]]


def test_lists_events_newest_first_with_their_delivery_summary(reader: APIClient, activity: None) -> None:
    body = reader.get("/api/events").json()
    assert [item["eventId"] for item in body["results"]] == ["e4", "e3", "e2", "e1"]
    e4, e3, e2, e1 = body["results"]
    assert e1["deliverySummary"] == {
        "total": 2,
        "byStatus": {"sent": 1, "delivered": 1},
        "byChannel": {"email": {"sent": 1}, "in_app": {"delivered": 1}},
    }
    assert e2["deliverySummary"]["byChannel"] == {"email": {"failed": 1}, "sms": {"sent": 1}}
    assert e4["deliverySummary"] == {"total": 0, "byStatus": {}, "byChannel": {}}
    assert (e3["eventType"], e3["topic"], e3["userId"]) == ("order.shipped", "team", "")
    assert e1["createdAt"] == "2026-03-02T10:00:00Z"
    assert e1["userId"] == "ann" and e1["channels"] == ["email"] and e1["priority"] == "normal"
    assert "data" not in e1 and "metadata" not in e1


def test_pages_with_the_deliveries_cursor(reader: APIClient, activity: None) -> None:
    first = reader.get("/api/events", {"limit": 3}).json()
    assert [item["eventId"] for item in first["results"]] == ["e4", "e3", "e2"]
    assert first["previous"] is None
    second = reader.get(first["next"]).json()
    assert [item["eventId"] for item in second["results"]] == ["e1"]
    assert second["next"] is None
    assert [item["eventId"] for item in reader.get(second["previous"]).json()["results"]] == [
        "e4",
        "e3",
        "e2",
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"userId": "ann"}, ["e4", "e3", "e1"]),  # e3 reached ann through a topic
        ({"userId": "bob"}, ["e2"]),
        ({"userId": "nobody"}, []),
        ({"eventType": "account"}, ["e4", "e2", "e1"]),
        ({"eventType": "order.shipped"}, ["e3"]),
        ({"status": "failed"}, ["e2"]),
        ({"status": "sent"}, ["e3", "e2", "e1"]),
        ({"status": "sent", "channel": "email"}, ["e1"]),
        ({"channel": "in_app"}, ["e3", "e1"]),
        ({"since": (T0 + timedelta(hours=1)).isoformat()}, ["e4", "e3", "e2"]),
        ({"until": (T0 + timedelta(hours=1)).isoformat()}, ["e1"]),
        (
            {"since": T0.isoformat(), "until": (T0 + timedelta(hours=2)).isoformat(), "userId": "ann"},
            ["e1"],
        ),
        ({"userId": "ann", "eventType": "account", "status": "delivered"}, ["e1"]),
    ],
)
def test_filters(reader: APIClient, activity: None, params: dict[str, str], expected: list[str]) -> None:
    assert ids(reader.get("/api/events", params)) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"channel": "pigeon"}, "channel"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-03-02T12:00:00Z", "until": "2026-03-02T11:00:00Z"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"user": "ann"}, "user"),
        ({"userId": "x" * 129}, "userId"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(reader: APIClient, params: dict[str, str], field: str) -> None:
    response = reader.get("/api/events", params)
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]


def test_reading_needs_a_key_with_the_read_scope_and_posting_still_needs_events_write(
    activity: None, event_body: Any
) -> None:
    assert APIClient().get("/api/events").status_code == 401
    assert client_with("events:write").get("/api/events").status_code == 403
    assert ids(client_with("read").get("/api/events")) == ["e4", "e3", "e2", "e1"]
    assert client_with("read").post("/api/events", event_body(), format="json").status_code == 403


def test_a_page_costs_one_query_and_its_summaries_one_more(reader: APIClient) -> None:
    for n in range(30):
        event(f"bulk{n}", T0 + timedelta(minutes=n), {"email": "sent", "in_app": "pending", "sms": "failed"})
    reader.get("/api/events")  # the API key is cached after its first use
    with CaptureQueriesContext(connection) as queries:
        response = reader.get("/api/events", {"limit": 25, "status": "failed"})
    assert len(response.json()["results"]) == 25
    feed_queries = [q["sql"] for q in queries.captured_queries if "notifications_apikey" not in q["sql"]]
    assert len(feed_queries) == 2, feed_queries


@pytest.mark.parametrize(
    ("params", "index"),
    [({"eventType": "account"}, "event_type_newest"), ({"since": T0.isoformat()}, "event_created_at")],
)
def test_the_page_query_can_walk_the_feed_indexes(params: dict[str, str], index: str) -> None:
    """With scans off the planner must use the feed's index; on a few rows it rightly scans."""

    filters = EventListParamsSerializer(data=params)
    filters.is_valid(raise_exception=True)
    query = list_events(filters.filters()).order_by("-id")[:51]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()
    assert index in plan, plan
