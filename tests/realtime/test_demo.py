"""The page at / and the demo endpoints: on in demo mode only, token-bound, never an API key."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notifications.models import Subscriber
from tests.factories import DeliveryFactory, SubscriberFactory
from tests.realtime.helpers import client_with, token_for

pytestmark = pytest.mark.django_db

DEMO_ENDPOINTS = [
    ("post", "/api/demo/session"),
    ("post", "/api/demo/event"),
    ("get", "/api/demo/events/evt_1"),
]


@pytest.fixture
def demo_mode(settings: Any) -> None:
    settings.RELAY_DEMO = True


@pytest.mark.parametrize(("method", "path"), DEMO_ENDPOINTS)
def test_demo_endpoints_do_not_exist_outside_demo_mode(settings: Any, method: str, path: str) -> None:
    settings.RELAY_DEMO = False
    SubscriberFactory(user_id="alice")
    assert getattr(client_with(token_for("alice")), method)(path, {}, format="json").status_code == 404


def test_page_explains_relay_and_offers_the_demo_form_only_in_demo_mode(settings: Any) -> None:
    settings.RELAY_DEMO = False
    production = APIClient().get("/")
    assert production.status_code == 200
    assert b"What Relay is" in production.content
    assert b'id="demo-form"' not in production.content
    assert b"relay/page.js" in production.content
    assert APIClient().get("/static/relay/inbox.js").status_code == 200

    settings.RELAY_DEMO = True
    assert b'id="demo-form"' in APIClient().get("/").content


def test_demo_session_mints_a_token_for_a_demo_subscriber(demo_mode: None) -> None:
    response = APIClient().post("/api/demo/session", {"userId": "demo-bob"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["userId"] == "demo-bob"
    assert "comment.created" in body["eventTypes"]
    assert client_with(body["token"]).get("/api/inbox").status_code == 200
    assert Subscriber.objects.filter(user_id="demo-bob").exists()


def test_demo_session_only_hands_out_demo_users(demo_mode: None) -> None:
    SubscriberFactory(user_id="alice")
    response = APIClient().post("/api/demo/session", {"userId": "alice"}, format="json")
    assert response.status_code == 400
    assert "userId" in response.json()["errors"]


def test_demo_event_needs_a_subscriber_token_not_an_api_key(demo_mode: None, api_key: str) -> None:
    assert APIClient().post("/api/demo/event", {}, format="json").status_code == 401
    assert client_with("bogus-token").post("/api/demo/event", {}, format="json").status_code == 401
    assert client_with(api_key).post("/api/demo/event", {}, format="json").status_code in (401, 403)


def test_demo_event_is_published_for_the_tokens_own_subscriber(
    demo_mode: None, streams: None, api: APIClient
) -> None:
    SubscriberFactory(user_id="alice")
    alice = client_with(token_for("alice"))

    response = alice.post(
        "/api/demo/event",
        {"eventType": "order.shipped", "title": "Shipped", "channels": ["in_app"]},
        format="json",
    )

    assert response.status_code == 202
    event_id = response.json()["eventId"]
    detail = api.get(f"/api/events/{event_id}")
    assert detail.status_code == 200
    assert detail.json()["status"] == "accepted"


def test_demo_event_rejects_bad_input_with_field_errors(demo_mode: None) -> None:
    SubscriberFactory(user_id="alice")
    response = client_with(token_for("alice")).post(
        "/api/demo/event", {"eventType": "not.a.demo.type", "channels": ["fax"]}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"eventType", "channels"}


def test_demo_event_status_shows_only_the_callers_deliveries(demo_mode: None) -> None:
    bob = SubscriberFactory(user_id="bob")
    delivery = DeliveryFactory(notification__subscriber=bob, channel="in_app", status="suppressed")
    event_id = delivery.notification.event.event_id
    SubscriberFactory(user_id="alice")

    as_bob = client_with(token_for("bob")).get(f"/api/demo/events/{event_id}").json()
    as_alice = client_with(token_for("alice")).get(f"/api/demo/events/{event_id}").json()

    assert as_bob["deliveries"] == [{"channel": "in_app", "status": "suppressed", "reason": ""}]
    assert as_alice["deliveries"] == []
    assert client_with(token_for("alice")).get("/api/demo/events/evt%00x").status_code == 404
