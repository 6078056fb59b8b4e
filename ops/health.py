"""GET /api/health: every dependency checked at once, each with its latency and a deadline."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from django.apps import apps
from django.conf import settings

from ops import probes
from pipeline import breaker


async def health_report() -> dict[str, Any]:
    """``ok`` when every configured service answers; ``degraded`` otherwise.

    Without ``REDIS_URL`` Relay uses in-process memory instead of Redis, so Redis is
    reported ``disabled`` and does not count against health.
    """
    checks = {"database": probes.check_database, "nats": probes.check_nats}
    if settings.REDIS_URL:
        checks["redis"] = probes.check_redis
    results = await asyncio.gather(*(probes.timed(check) for check in checks.values()))
    services: dict[str, Any] = dict(zip(checks, results, strict=True))
    services.setdefault("redis", {"status": "disabled"})
    degraded = any(service["status"] == "down" for service in services.values())
    return {
        "status": "degraded" if degraded else "ok",
        "services": {name: services[name] for name in ("database", "redis", "nats")},
        "uptime": round(time.time() - apps.get_app_config("ops").started_at, 1),
        "breakers": await breaker_states(),
    }


async def breaker_states() -> dict[str, Any]:
    """Each provider's circuit breaker. An open one does not make Relay degraded: events are
    still accepted, and deliveries fail over or wait for the cool-down."""
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(breaker.states), timeout=float(settings.HEALTH_CHECK_TIMEOUT)
        )
    except TimeoutError:
        return {}
