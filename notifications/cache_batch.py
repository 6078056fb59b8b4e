"""Cache operations done in one Redis round trip where the cache API would take several.

``claim_all`` claims many event ids at once (the API's idempotency check) with one Lua
script: ``SET NX`` per id, and the value held for each id someone else claimed first, in one
command and one round trip. One or two round trips per event were half the batch endpoint's
time (``make bench``); a pipeline of one ``SET`` per id, then an ``MGET``, still cost three
times the script's CPU per event in the API, packing and parsing a command per id.
``count_hit`` counts a request in a fixed window (the API throttle) with one script too
(``INCR``, and ``EXPIRE`` on the window's first hit) instead of ``add`` then ``incr``: a
pipeline of ``SET NX`` and ``INCR`` cost the API as much CPU per request as the claims.
Values are encoded by django-redis itself, so ``cache.get``/``cache.delete`` see the same
entries. Other cache backends (the
in-memory one of ``make run``) fall back to the cache API, which does no I/O there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache

from core.redis_client import shared_redis

_codecs: dict[str, Any] = {}


def _redis_cache() -> Any | None:
    """django-redis's client (keys, encoding) when the cache is Redis, else None.

    Remembered per cache location: Django makes cache objects per async context, and a fresh
    django-redis client per request would load its serializer and compressor every time.
    """
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    if location not in _codecs:
        client = getattr(cache, "client", None)
        _codecs[location] = client if client is not None and hasattr(client, "get_client") else None
    return _codecs[location]


# KEYS the claims; ARGV[1] their TTL in seconds, ARGV[i + 1] the value to claim KEYS[i] with.
# One result per key: nil if claimed now, else the value already held (nil if it just expired).
CLAIM_ALL = """
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[i + 1], 'NX', 'EX', ARGV[1]) then
    held[i] = false
  else
    held[i] = redis.call('GET', key) or false
  end
end
return held
"""


def claim_all(keys: Sequence[str], values: Sequence[str], timeout: int) -> list[str | None]:
    """For each key, in order: None if this call claimed it, else the value already there."""
    client = _redis_cache()
    if not keys or client is None:
        return [_claim_one(key, value, timeout) for key, value in zip(keys, values, strict=True)]
    script = shared_redis().register_script(CLAIM_ALL)
    held = script(
        keys=[client.make_key(key) for key in keys],
        args=[timeout, *(client.encode(value) for value in values)],
    )
    return [None if raw is None else str(client.decode(raw)) for raw in held]


def _claim_one(key: str, value: str, timeout: int) -> str | None:
    if cache.add(key, value, timeout=timeout):
        return None
    existing = cache.get(key)
    return str(existing) if existing else None


# KEYS[1] the window's counter, ARGV[1] its TTL in seconds (set when the window's first hit made it).
COUNT_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


def count_hit(key: str, timeout: int) -> int:
    """Add one to the window's counter (created with ``timeout``) and return the new count."""
    client = _redis_cache()
    if client is None:
        return _count_in_cache(key, timeout)
    script = shared_redis().register_script(COUNT_HIT)
    return int(script(keys=[client.make_key(key)], args=[timeout]))


def _count_in_cache(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # the window's key expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1
