"""/api/webhook-endpoints: CRUD, validation, the secret shown once, rotation, scopes, admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from notifications.models import ApiKey
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def create(api: APIClient, **body: Any) -> Any:
    return api.post("/api/webhook-endpoints", body, format="json")


def test_create_returns_the_secret_once_and_reads_never_show_it(api: APIClient, settings: Any) -> None:
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = False
    response = create(
        api, url="https://8.8.8.8/hooks", description="ops", events=["delivery.sent", "message.read"]
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["url"] == "https://8.8.8.8/hooks"
    assert body["events"] == ["delivery.sent", "message.read"]
    assert body["enabled"] is True and body["disabledReason"] == ""
    read = api.get(f"/api/webhook-endpoints/{body['id']}").json()
    assert "secret" not in read and read["description"] == "ops"
    listed = api.get("/api/webhook-endpoints").json()["endpoints"]
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]


def test_patch_changes_only_the_given_fields_and_delete_removes(api: APIClient) -> None:
    endpoint = create(api, url="https://8.8.8.8/a", events=["delivery.failed"]).json()

    patched = api.patch(
        f"/api/webhook-endpoints/{endpoint['id']}", {"enabled": False, "events": []}, format="json"
    )

    assert patched.status_code == 200, patched.content
    assert patched.json()["enabled"] is False and patched.json()["events"] == []
    assert patched.json()["url"] == "https://8.8.8.8/a"
    assert api.delete(f"/api/webhook-endpoints/{endpoint['id']}").status_code == 204
    assert api.get(f"/api/webhook-endpoints/{endpoint['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({}, "url"),
        ({"url": "https://8.8.8.8/x", "events": ["delivery.sent", "delivery.exploded"]}, "events"),
        ({"url": "https://8.8.8.8/x", "events": "delivery.sent"}, "events"),
        ({"url": "https://8.8.8.8/x", "enabled": "maybe"}, "enabled"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(api: APIClient, body: dict[str, Any], field: str) -> None:
    response = create(api, **body)

    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/x", "http://169.254.169.254/latest"],
)
def test_private_targets_are_refused_at_create_and_patch(api: APIClient, settings: Any, url: str) -> None:
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = False
    assert create(api, url=url).status_code == 400
    endpoint = create(api, url="https://8.8.8.8/ok").json()

    response = api.patch(f"/api/webhook-endpoints/{endpoint['id']}", {"url": url}, format="json")

    assert response.status_code == 400 and "url" in response.json()["errors"]
    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).url == "https://8.8.8.8/ok"


def test_rotation_returns_a_new_secret_and_keeps_the_old_one_for_24_hours(api: APIClient) -> None:
    endpoint = create(api, url="https://8.8.8.8/r").json()

    response = api.post(f"/api/webhook-endpoints/{endpoint['id']}/rotate-secret")

    assert response.status_code == 200
    rotated = response.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]
    stored = WebhookEndpoint.objects.get(pk=endpoint["id"])
    assert (stored.secret, stored.previous_secret) == (rotated["secret"], endpoint["secret"])
    assert 23.9 * 3600 < (stored.previous_secret_expires_at - stored.updated_at).total_seconds() <= 24 * 3600


def test_unknown_ids_are_404(api: APIClient) -> None:
    assert api.get("/api/webhook-endpoints/999999").status_code == 404
    assert api.patch("/api/webhook-endpoints/999999", {}, format="json").status_code == 404
    assert api.post("/api/webhook-endpoints/999999/rotate-secret").status_code == 404
    assert api.get("/api/webhook-endpoints/999999/messages").status_code == 404
    assert api.post("/api/webhook-endpoints/999999/messages/1/replay").status_code == 404


def test_writes_need_the_webhooks_write_scope(streams: None) -> None:
    _, raw = ApiKey.issue("reader", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert client.get("/api/webhook-endpoints").status_code == 200
    assert create(client, url="https://8.8.8.8/x").status_code == 403
    assert APIClient().get("/api/webhook-endpoints").status_code in (401, 403)


def test_the_admin_never_shows_the_secret(api: APIClient) -> None:
    endpoint = create(api, url="https://8.8.8.8/adm").json()
    User.objects.create_superuser("admin", "a@example.com", "pw")
    browser = Client()
    browser.login(username="admin", password="pw")

    page = browser.get(f"/admin/webhooks/webhookendpoint/{endpoint['id']}/change/")

    assert page.status_code == 200
    assert b"https://8.8.8.8/adm" in page.content
    assert endpoint["secret"].encode() not in page.content
