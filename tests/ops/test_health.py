"""GET /api/health against the real services, and degraded when one of them is unreachable."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from core.embedded_nats import free_port

pytestmark = pytest.mark.django_db


def health() -> tuple[int, dict[str, Any]]:
    response = APIClient().get("/api/health")
    return response.status_code, response.json()


@pytest.fixture
def fast_checks(settings: Any) -> None:
    settings.HEALTH_CHECK_TIMEOUT = 1.0


def test_health_is_ok_when_every_service_answers(settings: Any, nats_url: str) -> None:
    status, body = health()
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["services"]) == {"database", "redis", "nats"}
    for name in ("database", "nats"):
        assert body["services"][name]["status"] == "ok"
        assert body["services"][name]["latencyMs"] >= 0
    expected_redis = "ok" if settings.REDIS_URL else "disabled"
    assert body["services"]["redis"]["status"] == expected_redis
    assert body["uptime"] >= 0


def test_health_is_degraded_when_nats_is_down(settings: Any, fast_checks: None) -> None:
    settings.NATS_URL = f"nats://127.0.0.1:{free_port()}"
    status, body = health()
    assert status == 503
    assert body["status"] == "degraded"
    assert body["services"]["nats"]["status"] == "down"
    assert body["services"]["nats"]["error"]
    assert body["services"]["database"]["status"] == "ok"


def test_health_is_degraded_when_redis_is_down(settings: Any, fast_checks: None, nats_url: str) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    status, body = health()
    assert status == 503
    assert body["services"]["redis"]["status"] == "down"
    assert body["services"]["nats"]["status"] == "ok"


def test_redis_is_disabled_not_degraded_without_redis_url(settings: Any, nats_url: str) -> None:
    settings.REDIS_URL = ""
    status, body = health()
    assert status == 200
    assert body["services"]["redis"] == {"status": "disabled"}


def test_liveness_checks_nothing_external(settings: Any) -> None:
    settings.NATS_URL = f"nats://127.0.0.1:{free_port()}"
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = APIClient().get("/api/health/live")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_responses_carry_a_request_id(settings: Any) -> None:
    client = APIClient()
    echoed = client.get("/api/health/live", HTTP_X_REQUEST_ID="lb-1234")
    assert echoed["X-Request-ID"] == "lb-1234"
    fresh = client.get("/api/health/live", HTTP_X_REQUEST_ID="bad id with spaces")
    assert fresh["X-Request-ID"] != "bad id with spaces"
    assert len(fresh["X-Request-ID"]) == 32
