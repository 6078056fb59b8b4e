"""The preferences API of API.md, with API keys and subscriber tokens."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notifications.models import ApiKey
from notifications.subscriber_tokens import mint_subscriber_token
from preferences.models import Preference
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

ROW_KEYS = {"id", "userId", "channel", "eventType", "enabled", "quietHoursStart", "quietHoursEnd"}


@pytest.fixture
def key_client(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


def token_client(subscriber: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mint_subscriber_token(subscriber)}")
    return client


def test_api_key_creates_lists_patches_and_deletes_a_row(key_client: APIClient) -> None:
    SubscriberFactory(user_id="pref_user")
    body = {"userId": "pref_user", "channel": "email", "eventType": "account", "enabled": False}
    created = key_client.post("/api/preferences", body, format="json")
    assert created.status_code == 201, created.content
    row = created.json()
    assert row.keys() >= ROW_KEYS
    assert row | {"id": 0, "createdAt": "", "updatedAt": ""} == {
        **body,
        "id": 0,
        "quietHoursStart": None,
        "quietHoursEnd": None,
        "createdAt": "",
        "updatedAt": "",
    }
    listed = key_client.get("/api/preferences?userId=pref_user")
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["preferences"]] == [row["id"]]
    patched = key_client.patch(
        f"/api/preferences/{row['id']}",
        {"enabled": True, "quietHoursStart": "22:00:00", "quietHoursEnd": "07:00"},
        format="json",
    )
    assert patched.status_code == 200, patched.content
    assert (patched.json()["enabled"], patched.json()["quietHoursEnd"]) == (True, "07:00:00")
    assert key_client.delete(f"/api/preferences/{row['id']}").status_code == 204
    assert key_client.get("/api/preferences?userId=pref_user").json() == {"preferences": []}


def test_same_row_twice_is_a_conflict(key_client: APIClient) -> None:
    SubscriberFactory(user_id="twice")
    body = {"userId": "twice", "channel": "*", "eventType": "*", "enabled": False}
    first = key_client.post("/api/preferences", body, format="json")
    second = key_client.post("/api/preferences", body, format="json")
    assert second.status_code == 409
    assert second.json()["id"] == first.json()["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "fax", "eventType": "account"}, "channel"),
        ({"channel": "email", "eventType": "bad type!"}, "eventType"),
        ({"channel": "email", "eventType": "a", "quietHoursStart": "22:00:00"}, "quietHoursStart"),
        (
            {"channel": "email", "eventType": "a", "quietHoursStart": "25:00", "quietHoursEnd": "07:00"},
            "quietHoursStart",
        ),
        ({"channel": "email", "eventType": "a", "colour": "red"}, "colour"),
        ({"channel": "email", "eventType": "a"}, "userId"),
    ],
)
def test_bad_input_gets_field_errors(key_client: APIClient, body: dict[str, Any], field: str) -> None:
    SubscriberFactory(user_id="bad_input")
    if field != "userId":
        body = {"userId": "bad_input", **body}
    response = key_client.post("/api/preferences", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_unknown_user_is_404_and_patch_cannot_move_a_row(key_client: APIClient) -> None:
    assert key_client.get("/api/preferences?userId=nobody_here").status_code == 404
    row = Preference.objects.create(subscriber=SubscriberFactory(), channel="email", event_type="a")
    response = key_client.patch(f"/api/preferences/{row.pk}", {"channel": "sms"}, format="json")
    assert response.status_code == 400
    assert "channel" in response.json()["errors"]


def test_subscriber_token_reads_and_changes_only_its_own() -> None:
    me, other = SubscriberFactory(), SubscriberFactory()
    theirs = Preference.objects.create(subscriber=other, channel="email", event_type="a")
    client = token_client(me)
    created = client.post(
        "/api/preferences", {"channel": "sms", "eventType": "a", "enabled": False}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["userId"] == me.user_id
    assert [r["userId"] for r in client.get("/api/preferences").json()["preferences"]] == [me.user_id]
    assert client.get(f"/api/preferences?userId={other.user_id}").status_code == 403
    body = {"userId": other.user_id, "channel": "sms", "eventType": "a"}
    assert client.post("/api/preferences", body, format="json").status_code == 403
    assert client.patch(f"/api/preferences/{theirs.pk}", {"enabled": False}, format="json").status_code == 404
    assert client.delete(f"/api/preferences/{theirs.pk}").status_code == 404
    assert Preference.objects.get(pk=theirs.pk).enabled is True
    assert client.delete(f"/api/preferences/{created.json()['id']}").status_code == 204


def test_bad_token_is_401_and_read_only_key_cannot_write() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert client.get("/api/preferences").status_code == 401
    assert APIClient().get("/api/preferences").status_code == 401
    _, raw = ApiKey.issue("reader", scopes=["read"])
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    SubscriberFactory(user_id="read_only")
    assert reader.get("/api/preferences?userId=read_only").status_code == 200
    body = {"userId": "read_only", "channel": "sms", "eventType": "a"}
    assert reader.post("/api/preferences", body, format="json").status_code == 403


def test_bulk_update_creates_and_updates_in_one_call(key_client: APIClient) -> None:
    subscriber = SubscriberFactory(user_id="bulk_user")
    Preference.objects.create(subscriber=subscriber, channel="email", event_type="digest", enabled=True)
    body = {
        "userId": "bulk_user",
        "preferences": [
            {"channel": "email", "eventType": "digest", "enabled": False},
            {"channel": "*", "eventType": "marketing", "enabled": False},
            {"channel": "push", "eventType": "chat", "quietHoursStart": "23:00", "quietHoursEnd": "06:30"},
        ],
    }
    response = key_client.post("/api/preferences/bulk", body, format="json")
    assert response.status_code == 200, response.content
    rows = {(r["channel"], r["eventType"]): r for r in response.json()["preferences"]}
    assert rows.keys() == {("email", "digest"), ("*", "marketing"), ("push", "chat")}
    assert rows[("email", "digest")]["enabled"] is False
    assert rows[("push", "chat")]["quietHoursStart"] == "23:00:00"
    bad = key_client.post("/api/preferences/bulk", {**body, "preferences": [{"channel": "x"}]}, format="json")
    assert bad.status_code == 400


def test_subscriber_sets_own_quiet_hours() -> None:
    me = SubscriberFactory(timezone="Europe/Vienna")
    client = token_client(me)
    assert client.get("/api/preferences/quiet-hours").status_code == 404
    body = {"start": "22:00", "end": "07:00", "days": [4, 5, 4]}
    response = client.put("/api/preferences/quiet-hours", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "userId": me.user_id,
        "start": "22:00:00",
        "end": "07:00:00",
        "timezone": "Europe/Vienna",
        "days": [4, 5],
        "enabled": True,
    }
    bad = client.put("/api/preferences/quiet-hours", {**body, "timezone": "Mars/Olympus"}, format="json")
    assert bad.status_code == 400
    assert "timezone" in bad.json()["errors"]
    assert client.delete("/api/preferences/quiet-hours").status_code == 204
    assert client.get("/api/preferences/quiet-hours").status_code == 404


def test_api_key_beyond_its_rate_gets_429_with_retry_after(key_client: APIClient, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "api_key": "3/m"},
    }
    SubscriberFactory(user_id="throttled")
    codes = [key_client.get("/api/preferences?userId=throttled").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = key_client.get("/api/preferences?userId=throttled")
    assert 1 <= int(limited["Retry-After"]) <= 60
    _, other_key = ApiKey.issue("other")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert other.get("/api/preferences?userId=throttled").status_code == 200


def test_subscriber_token_has_its_own_rate(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "subscriber": "2/m"},
    }
    me, other = SubscriberFactory(), SubscriberFactory()
    client = token_client(me)
    assert [client.get("/api/preferences").status_code for _ in range(3)] == [200, 200, 429]
    assert token_client(other).get("/api/preferences").status_code == 200


def test_preferences_endpoints_are_in_the_openapi_schema() -> None:
    schema = APIClient().get("/api/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.content.decode()
    for path in (
        "/api/preferences",
        "/api/preferences/bulk",
        "/api/preferences/quiet-hours",
        "/api/topics/{key}",
    ):
        assert path in paths, path
