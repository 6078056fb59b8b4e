"""The staff dashboard in the admin: linked from the index, staff only, data from the database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client

from tests.factories import DeliveryFactory, EventFactory, NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


def dashboard_data(response: Any) -> dict[str, Any]:
    html = response.content.decode()
    start = html.index('<script id="relay-dashboard-data" type="application/json">')
    body = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(body)


def test_admin_index_links_to_the_dashboard(staff: Client) -> None:
    response = staff.get("/admin/")
    assert response.status_code == 200
    assert b'href="/admin/dashboard/"' in response.content


def test_dashboard_is_for_staff_only(client: Client) -> None:
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_dashboard_shows_failure_rate_and_top_failing_event_types(staff: Client, streams: None) -> None:
    billing = EventFactory(event_type="billing.failed")
    for status in ("failed", "failed", "bounced"):
        DeliveryFactory(status=status, notification=NotificationFactory(event=billing))
    DeliveryFactory(status="sent")
    response = staff.get("/admin/dashboard/")
    assert response.status_code == 200
    assert b"vendor/chart.umd.min.js" in response.content
    data = dashboard_data(response)
    assert data["failureRate"] == 0.75
    assert data["topFailingEventTypes"] == [{"eventType": "billing.failed", "failures": 3}]
    assert data["stats"]["byStatus"] == {"failed": 2, "bounced": 1, "sent": 1}
    assert sum(bucket["total"] for bucket in data["stats"]["buckets"]) == 4
    assert {lag["consumer"] for lag in data["consumerLag"]} >= {"ingest", "route"}
    assert data["breakers"]["inbox"]["state"] == "closed"


def test_chart_js_is_shipped_for_offline_use() -> None:
    path = finders.find("vendor/chart.umd.min.js")
    assert path is not None
    with open(path, encoding="utf-8") as handle:
        assert "Chart.js v4" in handle.read(200)
