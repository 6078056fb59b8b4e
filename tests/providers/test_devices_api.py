"""POST/GET/DELETE /api/subscribers/<userId>/devices: push tokens of a subscriber."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from notifications.models import ApiKey, Device
from tests.factories import DeviceFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def test_registering_a_device_creates_it_and_again_returns_it(api: APIClient) -> None:
    SubscriberFactory(user_id="dev-1")

    first = api.post("/api/subscribers/dev-1/devices", {"token": "tok-1", "platform": "ios"}, format="json")
    again = api.post("/api/subscribers/dev-1/devices", {"token": "tok-1", "platform": "ios"}, format="json")

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["token"] == "tok-1" and first.json()["platform"] == "ios" and first.json()["active"]
    assert Device.objects.filter(subscriber__user_id="dev-1").count() == 1


def test_registering_a_deactivated_token_activates_it_again(api: APIClient) -> None:
    DeviceFactory(subscriber=SubscriberFactory(user_id="dev-2"), token="tok-2", active=False)

    response = api.post("/api/subscribers/dev-2/devices", {"token": "tok-2"}, format="json")

    assert response.status_code == 200 and response.json()["active"] is True


def test_a_token_moving_to_another_subscriber_stops_reaching_the_first(api: APIClient) -> None:
    DeviceFactory(subscriber=SubscriberFactory(user_id="dev-old"), token="shared-install")
    SubscriberFactory(user_id="dev-new")

    assert (
        api.post("/api/subscribers/dev-new/devices", {"token": "shared-install"}, format="json").status_code
        == 201
    )

    assert not Device.objects.get(subscriber__user_id="dev-old").active
    assert Device.objects.get(subscriber__user_id="dev-new").active


def test_devices_are_listed_and_removed(api: APIClient) -> None:
    subscriber = SubscriberFactory(user_id="dev-3")
    DeviceFactory(subscriber=subscriber, token="keep")
    DeviceFactory(subscriber=subscriber, token="drop")

    removed = api.delete("/api/subscribers/dev-3/devices", {"token": "drop"}, format="json")
    listed = api.get("/api/subscribers/dev-3/devices")

    assert removed.status_code == 204
    assert [d["token"] for d in listed.json()["devices"]] == ["keep"]
    assert api.delete("/api/subscribers/dev-3/devices", {"token": "drop"}, format="json").status_code == 404


def test_bad_device_input_gets_field_errors(api: APIClient) -> None:
    SubscriberFactory(user_id="dev-4")

    response = api.post("/api/subscribers/dev-4/devices", {"platform": "fridge", "extra": 1}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"extra"} or {"token", "platform"} <= set(
        response.json()["errors"]
    )


def test_unknown_subscriber_is_404(api: APIClient) -> None:
    assert api.post("/api/subscribers/nobody/devices", {"token": "t"}, format="json").status_code == 404


def test_registering_needs_the_subscribers_write_scope(db: None) -> None:
    SubscriberFactory(user_id="dev-5")
    _, raw = ApiKey.issue("read-only", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert client.post("/api/subscribers/dev-5/devices", {"token": "t"}, format="json").status_code == 403
    assert client.get("/api/subscribers/dev-5/devices").status_code == 200
    assert APIClient().get("/api/subscribers/dev-5/devices").status_code in (401, 403)
