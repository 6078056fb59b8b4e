"""Topics API: create, add and remove members, list them in pages."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from notifications.models import Subscriber, TopicMembership

pytestmark = pytest.mark.django_db


def test_topic_create_add_list_remove(api: APIClient) -> None:
    created = api.put("/api/topics/release-notes", {"name": "Release notes"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["subscriberCount"] == 0
    assert api.put("/api/topics/release-notes", {"name": "Notes"}, format="json").status_code == 200
    Subscriber.objects.create(user_id="known_member")
    added = api.post(
        "/api/topics/release-notes/subscribers",
        {"userIds": ["known_member", "new_member", "new_member", "third"]},
        format="json",
    )
    assert added.status_code == 200, added.content
    assert added.json() == {"added": 3, "subscriberCount": 3}
    assert Subscriber.objects.filter(user_id="new_member").exists()  # created, as events do
    again = api.post("/api/topics/release-notes/subscribers", {"userIds": ["third"]}, format="json")
    assert again.json() == {"added": 0, "subscriberCount": 3}
    first = api.get("/api/topics/release-notes/subscribers?limit=2").json()
    rest = api.get(f"/api/topics/release-notes/subscribers?limit=2&after={first['next']}").json()
    assert first["userIds"] + rest["userIds"] == ["known_member", "new_member", "third"]
    assert rest["next"] is None
    removed = api.delete("/api/topics/release-notes/subscribers", {"userIds": ["new_member"]}, format="json")
    assert removed.json() == {"removed": 1, "subscriberCount": 2}
    body = api.get("/api/topics/release-notes").json()
    assert (body["key"], body["name"], body["subscriberCount"]) == ("release-notes", "Notes", 2)
    assert api.delete("/api/topics/release-notes").status_code == 204
    assert api.get("/api/topics/release-notes").status_code == 404
    assert TopicMembership.objects.count() == 0


def test_topic_bad_input(api: APIClient) -> None:
    assert api.put("/api/topics/bad key!", {}, format="json").status_code == 400
    assert api.post("/api/topics/missing/subscribers", {"userIds": ["a"]}, format="json").status_code == 404
    api.put("/api/topics/t1", {}, format="json")
    response = api.post("/api/topics/t1/subscribers", {"userIds": []}, format="json")
    assert response.status_code == 400
    assert "userIds" in response.json()["errors"]
    too_many = api.post(
        "/api/topics/t1/subscribers", {"userIds": [f"u{i}" for i in range(1001)]}, format="json"
    )
    assert too_many.status_code == 400
