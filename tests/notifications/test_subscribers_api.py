"""PUT/GET/DELETE /api/subscribers/<userId> and subscriber tokens."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from notifications.models import ApiKey, Subscriber
from notifications.subscriber_tokens import subscriber_id_from_token

pytestmark = pytest.mark.django_db


def test_put_creates_then_updates_only_given_fields(api: APIClient) -> None:
    created = api.put(
        "/api/subscribers/user_1",
        {
            "email": "a@example.com",
            "phone": "+14155550123",
            "timezone": "Europe/Vienna",
            "locale": "de-AT",
            "data": {"plan": "pro"},
        },
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["userId"] == "user_1"
    updated = api.put("/api/subscribers/user_1", {"email": "b@example.com"}, format="json")
    assert updated.status_code == 200
    subscriber = Subscriber.objects.get(user_id="user_1")
    assert (subscriber.email, subscriber.phone, subscriber.timezone) == (
        "b@example.com",
        "+14155550123",
        "Europe/Vienna",
    )
    assert api.get("/api/subscribers/user_1").json()["data"] == {"plan": "pro"}


def test_put_with_empty_body_creates_a_bare_subscriber(api: APIClient) -> None:
    assert api.put("/api/subscribers/bare", {}, format="json").status_code == 201
    assert Subscriber.objects.filter(user_id="bare").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "0664 123"}, "phone"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"data": "text"}, "data"),
        ({"locale": "??"}, "locale"),
        ({"nickname": "x"}, "nickname"),
    ],
)
def test_bad_subscriber_fields_are_400_and_nothing_stored(api: APIClient, body: dict, field: str) -> None:
    response = api.put("/api/subscribers/bad", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Subscriber.objects.filter(user_id="bad").exists()


def test_get_and_delete_unknown_subscriber_are_404(api: APIClient) -> None:
    assert api.get("/api/subscribers/ghost").status_code == 404
    assert api.delete("/api/subscribers/ghost").status_code == 404


def test_delete_removes_the_subscriber(api: APIClient) -> None:
    api.put("/api/subscribers/gone", {}, format="json")
    assert api.delete("/api/subscribers/gone").status_code == 204
    assert api.get("/api/subscribers/gone").status_code == 404


def test_read_only_key_can_read_but_not_write(api: APIClient) -> None:
    api.put("/api/subscribers/ro", {}, format="json")
    _, raw = ApiKey.issue("ro", ["read"])
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert reader.get("/api/subscribers/ro").status_code == 200
    assert reader.put("/api/subscribers/ro", {}, format="json").status_code == 403


def test_token_is_minted_for_that_subscriber(api: APIClient) -> None:
    api.put("/api/subscribers/tok", {}, format="json")
    response = api.post("/api/subscribers/tok/token")
    assert response.status_code == 201
    assert subscriber_id_from_token(response.json()["token"]) == Subscriber.objects.get(user_id="tok").pk
    assert subscriber_id_from_token(response.json()["token"] + "x") is None
    assert api.post("/api/subscribers/nobody/token").status_code == 404


def test_create_api_key_command_prints_only_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    from django.core.management import call_command

    call_command("create_api_key", "ci")
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("rk_")
    assert "\n" not in printed
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {printed}")
    assert client.get("/api/subscribers/none").status_code == 404  # authenticated, just unknown
