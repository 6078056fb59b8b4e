"""Sliding-window rate limits per (subscriber, channel), shared by every route worker.

Redis holds one sorted set per pair (score = send time in ms); a Lua script trims what left
the window, counts, and records the new send in one atomic step, so concurrent workers can
never both take the last slot. One pipelined round trip serves a whole batch. Without
Redis (embedded mode, or Redis down) the database counts the pair's recent deliveries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count
from redis import Redis
from redis.exceptions import RedisError

from core.redis_client import raw_redis, redis_key
from deliveries.models import Delivery, DeliveryStatus
from preferences.engine import Candidate, PairKey

log = structlog.get_logger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd]?)\s*$")

# KEYS[1] the pair's sorted set; ARGV now_ms, window_ms, limit, member. 1 = admitted.
SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Limit:
    count: int
    window: timedelta


def parse_rate(value: str) -> Limit | None:
    """``"10/h"``, ``"100/15m"``, ``"5/30"`` (seconds); empty or ``0/...`` means no limit."""
    if not value.strip():
        return None
    match = RATE_RE.match(value)
    if match is None:
        raise ImproperlyConfigured(f"Bad rate limit {value!r}: use N/period, e.g. 10/h, 100/15m, 5/30s.")
    count, multiplier, unit = int(match[1]), int(match[2] or 1), PERIODS[match[3] or "s"]
    return Limit(count, timedelta(seconds=multiplier * unit)) if count > 0 else None


def channel_limit(channel: str) -> Limit | None:
    return parse_rate(str(settings.RELAY_RATE_LIMITS.get(channel, "")))


def over_limit(candidates: list[Candidate], now: datetime) -> set[PairKey]:
    """The pairs of the batch that would exceed their channel's limit; the rest are counted."""
    limited = [(c, limit) for c in candidates if (limit := channel_limit(c.channel)) is not None]
    if not limited:
        return set()
    client = raw_redis()
    if client is not None:
        try:
            return _over_limit_redis(client, limited, now)
        except RedisError as error:
            log.warning("rate_limit_redis_unavailable", error=str(error), fallback="database")
    return _over_limit_database(limited, now)


def _over_limit_redis(client: Redis, limited: list[tuple[Candidate, Limit]], now: datetime) -> set[PairKey]:
    script = client.register_script(SLIDING_WINDOW)
    now_ms = int(now.timestamp() * 1000)
    pipe = client.pipeline(transaction=False)
    for candidate, limit in limited:
        window_ms = int(limit.window.total_seconds() * 1000)
        script(
            keys=[redis_key("rl", candidate.subscriber.pk, candidate.channel)],
            args=[now_ms, window_ms, limit.count, f"{candidate.notification_id}:{candidate.channel}"],
            client=pipe,
        )
    admitted = pipe.execute()
    return {c.key for (c, _), ok in zip(limited, admitted, strict=True) if not ok}


def _over_limit_database(limited: list[tuple[Candidate, Limit]], now: datetime) -> set[PairKey]:
    """Count each pair's deliveries still inside the window: one query per channel."""
    by_channel: dict[str, list[Candidate]] = {}
    for candidate, _ in limited:
        by_channel.setdefault(candidate.channel, []).append(candidate)
    result: set[PairKey] = set()
    for channel, candidates in by_channel.items():
        limit = channel_limit(channel)
        assert limit is not None
        used = dict(
            Delivery.objects.filter(
                channel=channel,
                notification__subscriber_id__in={c.subscriber.pk for c in candidates},
                created_at__gt=now - limit.window,
            )
            .exclude(status=DeliveryStatus.SUPPRESSED)
            .values("notification__subscriber_id")
            .annotate(n=Count("id"))
            .values_list("notification__subscriber_id", "n")
        )
        for candidate in candidates:
            sid = candidate.subscriber.pk
            if used.get(sid, 0) >= limit.count:
                result.add(candidate.key)
            else:
                used[sid] = used.get(sid, 0) + 1
    return result
