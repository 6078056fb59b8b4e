"""Has this (notification, channel) been decided already? Redis first, the database as truth.

A replayed route message must not be decided twice: a second decision would count against
the rate limit again and could contradict the first. ``SET NX`` with a TTL claims each pair
in one round trip; only the pairs whose claim fails (a replay, or a worker that crashed
before its commit) cost a database lookup, and the ``delivery_unique`` key settles them.
Without Redis every pair is looked up in the database, in one query.
"""

from __future__ import annotations

import structlog
from django.conf import settings
from redis import Redis
from redis.exceptions import RedisError

from core.redis_client import raw_redis, redis_key
from deliveries.models import Delivery
from preferences.engine import PairKey

log = structlog.get_logger(__name__)


def decided_already(keys: list[PairKey]) -> set[PairKey]:
    unclaimed = keys
    client = raw_redis()
    if client is not None:
        try:
            unclaimed = _claim(client, keys)
        except RedisError as error:
            log.warning("dedup_redis_unavailable", error=str(error), fallback="database")
    return _existing(unclaimed) if unclaimed else set()


def _claim(client: Redis, keys: list[PairKey]) -> list[PairKey]:
    """Claim every pair; return those someone claimed before (to be checked in the database)."""
    ttl = int(settings.RELAY_DEDUP_TTL)
    pipe = client.pipeline(transaction=False)
    for notification_id, channel in keys:
        pipe.set(redis_key("dedup", notification_id, channel), 1, nx=True, ex=ttl)
    return [key for key, claimed in zip(keys, pipe.execute(), strict=True) if not claimed]


def _existing(keys: list[PairKey]) -> set[PairKey]:
    wanted = set(keys)
    rows = Delivery.objects.filter(notification_id__in={nid for nid, _ in keys}).values_list(
        "notification_id", "channel"
    )
    return {row for row in rows if row in wanted}
