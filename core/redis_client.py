"""The raw Redis client behind the cache, for state the cache API cannot express atomically.

None when ``REDIS_URL`` is unset (embedded mode): callers then fall back to the database,
and a warning says so once per process. Keys share the cache's prefix, so test runs and
installations never see each other's state.
"""

from __future__ import annotations

import threading

import structlog
from django.conf import settings
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from core.per_loop import PerLoop

log = structlog.get_logger(__name__)
_warned = False
_clients: dict[str, Redis] = {}
_clients_lock = threading.Lock()


def shared_redis() -> Redis:
    """The process's redis-py client for the default cache's server, made once.

    Django keeps cache objects per async context, so a request, or a stage's call into a
    worker thread, gets a fresh django-redis client whose first use builds a new ``Redis``
    object: a twentieth of the API's CPU per request (py-spy, docs/BENCHMARKS.md). redis-py
    clients are thread-safe and pool their connections, so one per process serves every
    thread. Keyed by the cache's location, so a test that points the cache elsewhere gets
    a client for that server.
    """
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    client = _clients.get(location)
    if client is None:
        with _clients_lock:
            client = _clients.get(location)
            if client is None:
                from django_redis import get_redis_connection

                client = _clients[location] = get_redis_connection("default")
    return client


_async_clients: PerLoop[AsyncRedis] = PerLoop()


def shared_async_redis() -> AsyncRedis:
    """An asyncio client for the default cache's server, one per running loop and location.

    For code already on an event loop (the deliver stage's circuit breaker), so that a Redis
    round trip does not cost a hand-off to a thread.
    """
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    client = _async_clients.get(location)
    if client is None:
        options = settings.CACHES["default"].get("OPTIONS", {})
        client = _async_clients.set(
            location,
            AsyncRedis.from_url(
                location,
                socket_connect_timeout=options.get("SOCKET_CONNECT_TIMEOUT"),
                socket_timeout=options.get("SOCKET_TIMEOUT"),
            ),
        )
    return client


def raw_redis() -> Redis | None:
    global _warned
    if not settings.REDIS_URL:
        if not _warned:
            log.warning("redis_not_configured", fallback="database", affects="rate limits, dedup")
            _warned = True
        return None
    return shared_redis()


def redis_key(*parts: object) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "relay")
    return ":".join([prefix, *(str(p) for p in parts)])
