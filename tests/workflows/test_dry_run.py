"""Issue 16 item 7: POST /api/workflows/<eventType>/dry-run and the admin's Test page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from deliveries.models import Delivery
from notifications.models import Event, Notification, Subscriber
from preferences.models import Preference
from realtime.models import InboxMessage
from templates_admin.models import NotificationTemplate
from workflows import services
from workflows.models import DigestWindow, Run, StepState, ThrottleSlot, Wait, Workflow

pytestmark = [pytest.mark.django_db]

STEPS = [
    {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
    {"id": "wait", "type": "delay", "config": {"duration": "1h"}},
    {"id": "mail", "type": "send", "config": {"channel": "email"}, "if": {"!": {"var": "steps.inbox.read"}}},
    {"id": "text", "type": "send", "config": {"channel": "sms"}},
    {"id": "push", "type": "send", "config": {"channel": "push"}},
    {
        "id": "vip",
        "type": "send",
        "config": {"channel": "webhook"},
        "if": {"==": [{"var": "payload.tier"}, "vip"]},
    },
]
EVENT = {"data": {"title": "New comment", "body": "Ann wrote", "tier": "basic"}}
STORED = [Event, Notification, Delivery, Run, StepState, Wait, InboxMessage, DigestWindow, ThrottleSlot]


@pytest.fixture
def comment_workflow(db: None, settings: Any) -> Subscriber:
    # Named providers are enough for a plan: nothing is sent.
    settings.RELAY_PROVIDERS = {
        **settings.RELAY_PROVIDERS,
        "email": ["smtp"],
        "sms": ["twilio"],
        "push": ["fcm"],
    }
    services.publish("comment.dry", {"name": "Comment", "steps": STEPS})
    NotificationTemplate.objects.create(
        event_type="comment.dry",
        channel="email",
        locale="en",
        subject="{{ title }} for {{ subscriber.userId }}",
    )
    subscriber = Subscriber.objects.create(user_id="dry-user", email="dry@example.com")
    Preference.objects.create(subscriber=subscriber, channel="push", event_type="comment.dry", enabled=False)
    return subscriber


def counts() -> list[int]:
    return [model.objects.count() for model in STORED]


def test_dry_run_plans_every_step_and_stores_nothing(api: APIClient, comment_workflow: Subscriber) -> None:
    before = counts()
    response = api.post(
        "/api/workflows/comment.dry/dry-run", {"event": EVENT, "userId": "dry-user"}, format="json"
    )
    assert response.status_code == 200, response.content
    inbox, wait, mail, text, push, vip = response.json()["steps"]
    assert (inbox["would"], inbox["channel"], inbox["decision"]) == ("send", "in_app", "send")
    assert (inbox["content"]["title"], inbox["content"]["body"]) == ("New comment", "Ann wrote")
    assert (wait["would"], wait["reason"]) == ("wait", "delay") and wait["until"]
    assert (mail["would"], mail["channel"], mail["content"]["subject"]) == (
        "send",
        "email",
        "New comment for dry-user",
    )
    assert (text["would"], text["decision"], text["reason"]) == ("skip", "suppress", "no_address")
    assert (push["would"], push["decision"], push["reason"]) == ("skip", "suppress", "event_type_opted_out")
    assert (vip["would"], vip["reason"], vip["values"]) == (
        "skip",
        "condition_false",
        {"condition": {"payload.tier": "basic"}},
    )
    assert counts() == before


def test_dry_run_conditions_see_the_planned_steps_and_the_digest(api: APIClient, db: None) -> None:
    services.publish(
        "digest.dry",
        {
            "name": "Digest",
            "steps": [
                {"id": "collect", "type": "digest", "config": {"window": "10m"}},
                {
                    "id": "one",
                    "type": "send",
                    "config": {"channel": "in_app"},
                    "if": {"==": [{"var": "digest.count"}, 1]},
                },
                {
                    "id": "many",
                    "type": "send",
                    "config": {"channel": "in_app"},
                    "if": {">": [{"var": "digest.count"}, 1]},
                },
            ],
        },
    )
    Subscriber.objects.create(user_id="dry-digest")
    body = {"event": {"data": {"actor": "ann"}}, "userId": "dry-digest"}
    steps = api.post("/api/workflows/digest.dry/dry-run", body, format="json").json()["steps"]
    assert [(s["id"], s["would"]) for s in steps] == [("collect", "wait"), ("one", "send"), ("many", "skip")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": EVENT}, "userId"),
        ({"event": [], "userId": "dry-user"}, "event"),
        ({"event": {"priority": "loud"}, "userId": "dry-user"}, "event"),
        ({"event": EVENT, "userId": "dry-user", "extra": 1}, "extra"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(
    api: APIClient, comment_workflow: Subscriber, body: dict[str, Any], field: str
) -> None:
    response = api.post("/api/workflows/comment.dry/dry-run", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_an_unknown_workflow_or_subscriber_is_a_404(api: APIClient, comment_workflow: Subscriber) -> None:
    unknown_workflow = api.post(
        "/api/workflows/nope/dry-run", {"event": EVENT, "userId": "dry-user"}, format="json"
    )
    assert unknown_workflow.status_code == 404
    unknown_user = api.post(
        "/api/workflows/comment.dry/dry-run", {"event": EVENT, "userId": "nobody"}, format="json"
    )
    assert unknown_user.status_code == 404


def test_the_admin_test_button_shows_the_same_plan(comment_workflow: Subscriber) -> None:
    client = Client()
    client.force_login(User.objects.create_superuser("tester", "tester@example.com", "pw"))
    workflow = Workflow.objects.get(key="comment.dry")
    page = client.get(f"/admin/workflows/workflow/{workflow.pk}/change/").content.decode()
    assert f'href="/admin/workflows/workflow/{workflow.pk}/test/"' in page
    before = counts()
    shown = client.post(
        f"/admin/workflows/workflow/{workflow.pk}/test/",
        {"event": '{"data": {"title": "New comment", "tier": "basic"}}', "userId": "dry-user"},
    ).content.decode()
    assert 'id="workflow-test-plan"' in shown
    assert "no_address" in shown and "event_type_opted_out" in shown and "New comment for dry-user" in shown
    assert counts() == before
    bad = client.post(f"/admin/workflows/workflow/{workflow.pk}/test/", {"event": "{", "userId": "dry-user"})
    assert "not JSON" in bad.content.decode()
