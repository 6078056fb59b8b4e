"""The raw Redis client behind the cache, for state the cache API cannot express atomically.

None when ``REDIS_URL`` is unset (embedded mode): callers then fall back to the database,
and a warning says so once per process. Keys share the cache's prefix, so test runs and
installations never see each other's state.
"""

from __future__ import annotations

import structlog
from django.conf import settings
from redis import Redis

log = structlog.get_logger(__name__)
_warned = False


def raw_redis() -> Redis | None:
    global _warned
    if not settings.REDIS_URL:
        if not _warned:
            log.warning("redis_not_configured", fallback="database", affects="rate limits, dedup")
            _warned = True
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def redis_key(*parts: object) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "relay")
    return ":".join([prefix, *(str(p) for p in parts)])
