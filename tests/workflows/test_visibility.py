"""Issue 16 item 6: a run's steps in GET /api/events/<eventId>, runs in the admin, the metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import wait_until
from tests.workflows.support import deliveries_of, ended, post_event, publish, subscriber

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]
STEPS = [
    {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
    {
        "id": "vip",
        "type": "send",
        "config": {"channel": "sms"},
        "if": {"==": [{"var": "payload.tier"}, "vip"]},
    },
    {"id": "wait", "type": "delay", "config": {"duration": 600}},
    {"id": "mail", "type": "send", "config": {"channel": "email"}},
]


async def _detail(api: APIClient, event_id: str) -> dict[str, Any]:
    response = await sync_to_async(api.get)(f"/api/events/{event_id}")
    assert response.status_code == 200, response.content
    return dict(response.json())


async def test_event_detail_shows_each_step_of_the_run(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await publish("visible.run", STEPS)
    await subscriber("visible-user")
    body = event_body(
        eventType="visible.run", userId="visible-user", channels=["in_app"], data={"tier": "basic"}
    )
    await post_event(api, body)
    run = await wait_until(ended(body["eventId"], "waiting"))
    await wait_until(lambda: _in_app_sent(body["eventId"]))
    detail = await _detail(api, body["eventId"])
    (shown,) = detail["runs"]
    assert {k: shown[k] for k in ("id", "workflow", "version", "userId", "status", "reason")} == {
        "id": run.pk,
        "workflow": "visible.run",
        "version": 1,
        "userId": "visible-user",
        "status": "waiting",
        "reason": "delay",
    }
    inbox, vip, wait, mail = shown["steps"]
    delivery = run.states["inbox"].delivery
    assert (inbox["status"], inbox["delivery"]) == (
        "done",
        {"id": delivery.pk, "channel": "in_app", "status": "sent", "reason": ""},
    )
    assert (vip["status"], vip["reason"], vip["values"], vip["delivery"]) == (
        "skipped",
        "condition_false",
        {"condition": {"payload.tier": "basic"}},
        None,
    )
    assert (wait["status"], wait["reason"]) == ("waiting", "delay")
    assert wait["waitingUntil"] == run.states["wait"].waiting_until.isoformat().replace("+00:00", "Z")
    assert (mail["id"], mail["type"], mail["status"], mail["waitingUntil"]) == (
        "mail",
        "send",
        "pending",
        None,
    )
    # The event's own deliveries are there as before.
    assert [d["channel"] for n in detail["notifications"] for d in n["deliveries"]] == ["in_app"]


async def _in_app_sent(event_id: str) -> bool:
    delivery = (await deliveries_of(event_id)).get("in_app")
    return delivery is not None and delivery.status == "sent"


async def test_an_event_without_a_workflow_has_no_runs(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await subscriber("plain-user")
    body = event_body(userId="plain-user", channels=["in_app"])
    await post_event(api, body)
    await wait_until(lambda: _detail_has_delivery(api, body["eventId"]))
    assert (await _detail(api, body["eventId"]))["runs"] == []


async def _detail_has_delivery(api: APIClient, event_id: str) -> bool:
    detail = await _detail(api, event_id)
    return any(n["deliveries"] for n in detail.get("notifications", []))


async def test_admin_lists_runs_by_status_with_their_steps(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await publish("visible.admin", STEPS[:1] + STEPS[2:])
    await subscriber("admin-waiting")
    waiting = event_body(eventType="visible.admin", userId="admin-waiting", channels=["in_app"])
    await post_event(api, waiting)
    run = await wait_until(ended(waiting["eventId"], "waiting"))
    client = Client()
    await sync_to_async(client.force_login)(
        await sync_to_async(User.objects.create_superuser)("runs-admin", "runs@example.com", "pw")
    )
    listed = await sync_to_async(client.get)("/admin/workflows/run/?status__exact=waiting")
    assert listed.status_code == 200
    assert f'href="/admin/workflows/run/{run.pk}/change/' in listed.content.decode()
    none = await sync_to_async(client.get)("/admin/workflows/run/?status__exact=completed")
    assert f"/admin/workflows/run/{run.pk}/change/" not in none.content.decode()
    page = (await sync_to_async(client.get)(f"/admin/workflows/run/{run.pk}/change/")).content.decode()
    assert "admin-waiting" in page and "visible.admin" in page
    # The steps, inline and read-only: the delay waiting, the mail step still to come.
    assert "wait waiting" in page and "mail pending" in page and "<p>delay</p>" in page
    assert 'name="_save"' not in page


async def test_metrics_count_runs_by_status_and_waiting_runs(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await publish("visible.metrics", [{"id": "collect", "type": "digest", "config": {"window": 600}}])
    await subscriber("metrics-user")
    bodies = [
        event_body(eventType="visible.metrics", userId="metrics-user", channels=["in_app"]) for _ in range(2)
    ]
    for body in bodies:
        await post_event(api, body)
    await wait_until(ended(bodies[0]["eventId"], "waiting"))
    await wait_until(ended(bodies[1]["eventId"], "digested"))
    text = (await sync_to_async(api.get)("/api/metrics")).content.decode()
    assert 'workflow_runs_total{status="digested",workflow="visible.metrics"} 1.0' in text
    assert "workflow_waiting_runs 1.0" in text
    assert 'workflow_step_duration_seconds_count{type="digest"}' in text
