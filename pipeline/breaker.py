"""Circuit breaker per provider, its state shared in Redis by every worker process.

A breaker is ``closed`` (calls go through), ``open`` (calls are refused until the cool-down
ends) or ``half_open`` (one caller holds the trial; everyone else waits for its verdict).
It opens after ``RELAY_BREAKER_FAILURES`` consecutive transient failures, or when the
failures in the current window reach ``RELAY_BREAKER_FAILURE_RATIO`` of at least
``RELAY_BREAKER_MIN_CALLS`` calls. After ``RELAY_BREAKER_COOLDOWN`` seconds the next caller
makes one trial call: success closes the breaker, failure opens it again.

The transitions are pure functions over a small state record, applied either to a Redis
hash (optimistic WATCH/MULTI, so every worker agrees) or, without ``REDIS_URL`` or while
Redis is unreachable, to an in-process dict. A Redis outage degrades the breaker to
per-process state and is logged; it never fails a delivery batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, TypeVar

import structlog
from django.conf import settings
from redis.asyncio import Redis as AsyncRedis

from core import metrics
from core.redis_client import shared_async_redis, shared_redis
from pipeline.channels.registry import configured_providers
from pipeline.providers.base import OnAccepted, OutboundMessage, Provider, ProviderResult, ignore_acceptance

log = structlog.get_logger(__name__)

State = Literal["closed", "open", "half_open"]
T = TypeVar("T")
# After a Redis error, the in-process state is used for this long before Redis is tried again.
REDIS_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Config:
    failures: int
    failure_ratio: float
    min_calls: int
    window: float
    cooldown: float

    @classmethod
    def from_settings(cls) -> Config:
        return cls(
            failures=int(settings.RELAY_BREAKER_FAILURES),
            failure_ratio=float(settings.RELAY_BREAKER_FAILURE_RATIO),
            min_calls=int(settings.RELAY_BREAKER_MIN_CALLS),
            window=float(settings.RELAY_BREAKER_WINDOW),
            cooldown=float(settings.RELAY_BREAKER_COOLDOWN),
        )


@dataclass(frozen=True)
class Breaker:
    """One provider's breaker as stored: ``until`` ends the cool-down or the trial lease."""

    state: State = "closed"
    until: float = 0.0
    consecutive: int = 0
    window_start: float = 0.0
    calls: int = 0
    failures: int = 0
    opened: int = 0  # how many times it has opened, for operators and tests

    @classmethod
    def load(cls, raw: dict[Any, Any]) -> Breaker:
        text = {_text(key): _text(value) for key, value in raw.items()}
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = text.get(f.name)
            if value is not None:
                values[f.name] = value if f.name == "state" else type(getattr(cls(), f.name))(float(value))
        return cls(**values)

    def dump(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Permit:
    """May the caller use the provider now; ``trial`` means with one message only."""

    allowed: bool
    trial: bool = False
    retry_in: float = 0.0
    seen: Breaker | None = None  # the closed breaker read at admission (``admit_async``)


def admit(breaker: Breaker, now: float, config: Config) -> tuple[Breaker, Permit]:
    """Closed lets everyone through; after the cool-down the first caller gets the trial."""
    if breaker.state == "closed":
        return breaker, Permit(allowed=True)
    if now < breaker.until:
        return breaker, Permit(allowed=False, retry_in=breaker.until - now)
    # Cool-down over (or an earlier trial caller vanished): this caller makes the trial, and
    # holds it for one more cool-down at most.
    return replace(breaker, state="half_open", until=now + config.cooldown), Permit(True, trial=True)


def observe(breaker: Breaker, outcomes: Sequence[bool], trial: bool, now: float, config: Config) -> Breaker:
    """Fold call outcomes (True = the provider answered) into the breaker."""
    if not outcomes:
        return breaker
    if breaker.state != "closed" and not trial:
        return breaker  # results of calls begun before it opened say nothing new
    if trial:
        if outcomes[-1]:
            return Breaker(opened=breaker.opened, window_start=now)
        return _open(breaker, now, config)
    if now - breaker.window_start >= config.window:
        breaker = replace(breaker, window_start=now, calls=0, failures=0)
    # A batch is many calls: a run of failures in its middle counts as much as one at its end.
    consecutive, longest = breaker.consecutive, 0
    for ok in outcomes:
        consecutive = 0 if ok else consecutive + 1
        longest = max(longest, consecutive)
    failed = outcomes.count(False)
    breaker = replace(
        breaker,
        consecutive=consecutive,
        calls=breaker.calls + len(outcomes),
        failures=breaker.failures + failed,
    )
    ratio_tripped = (
        breaker.calls >= config.min_calls and breaker.failures >= config.failure_ratio * breaker.calls
    )
    if longest >= config.failures or ratio_tripped:
        return _open(breaker, now, config)
    return breaker


def healthy(breaker: Breaker, now: float, config: Config) -> bool:
    """Closed, no failure run, window current: a batch of successes only adds to its calls."""
    fresh = now - breaker.window_start < config.window
    return breaker.state == "closed" and not breaker.consecutive and fresh


def _open(breaker: Breaker, now: float, config: Config) -> Breaker:
    return Breaker(state="open", until=now + config.cooldown, opened=breaker.opened + 1, window_start=now)


class MemoryStore:
    """Per-process state: without Redis, and while Redis is down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, Breaker] = {}

    def update(self, key: str, change: Callable[[Breaker], tuple[Breaker, T]]) -> T:
        with self._lock:
            self._data[key], result = change(self._data.get(key, Breaker()))
            return result

    def read(self, key: str) -> Breaker:
        with self._lock:
            return self._data.get(key, Breaker())

    def add_calls(self, key: str, n: int) -> None:
        with self._lock:
            current = self._data.get(key, Breaker())
            self._data[key] = replace(current, calls=current.calls + n)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class RedisStore:
    """State in one Redis hash per provider, changed under WATCH so concurrent workers agree."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def _client(self) -> Any:
        return shared_redis()

    def key(self, provider: str) -> str:
        return f"{self.prefix}:breaker:{provider}"

    def update(self, key: str, change: Callable[[Breaker], tuple[Breaker, T]]) -> T:
        import redis

        with self._client().pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    before = Breaker.load(pipe.hgetall(key))
                    after, result = change(before)
                    if after == before:  # the common case, closed and healthy: one round trip
                        pipe.unwatch()
                        return result
                    pipe.multi()
                    pipe.hset(key, mapping=after.dump())
                    pipe.expire(key, 7 * 24 * 3600)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def read(self, key: str) -> Breaker:
        return Breaker.load(self._client().hgetall(key))

    def add_calls(self, key: str, n: int) -> None:
        # Commutative, so no WATCH; a concurrent WATCH transaction on the key sees it and retries.
        self._client().hincrby(key, "calls", n)

    def clear(self) -> None:
        client = self._client()
        for key in client.scan_iter(match=self.key("*")):
            client.delete(key)


class Breakers:
    """Chooses the store, and falls back from Redis to memory without ever raising."""

    def __init__(self) -> None:
        self.memory = MemoryStore()
        self._redis_down_until = 0.0

    def _redis(self) -> RedisStore | None:
        if not settings.REDIS_URL or time.monotonic() < self._redis_down_until:
            return None
        return RedisStore(str(settings.CACHES["default"].get("KEY_PREFIX", "relay")))

    def _run(self, provider: str, use: Callable[[RedisStore | MemoryStore, str], T]) -> T:
        store = self._redis()
        if store is not None:
            try:
                return use(store, store.key(provider))
            except Exception as error:
                self._redis_failed(provider, error)
        return use(self.memory, provider)

    async def _run_async(
        self,
        provider: str,
        on_redis: Callable[[AsyncRedis, str], Awaitable[T]],
        in_memory: Callable[[MemoryStore, str], T],
    ) -> T:
        """``_run`` for the event loop's own Redis client: no hand-off to a thread."""
        store = self._redis()
        if store is not None:
            try:
                return await on_redis(shared_async_redis(), store.key(provider))
            except Exception as error:
                self._redis_failed(provider, error)
        return in_memory(self.memory, provider)

    def _redis_failed(self, provider: str, error: Exception) -> None:
        self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        log.warning("breaker_redis_unavailable", provider=provider, error=str(error))

    def admit(self, provider: str) -> Permit:
        if self.read(provider).state == "closed":
            # Closed admits everyone and changes nothing: one read instead of a transaction.
            metrics.set_breaker_state(provider, "closed")
            return Permit(allowed=True)
        config, now = Config.from_settings(), time.time()

        def change(breaker: Breaker) -> tuple[Breaker, tuple[Breaker, Permit]]:
            after, permit = admit(breaker, now, config)
            return after, (after, permit)

        after, permit = self._run(provider, lambda store, key: store.update(key, change))
        metrics.set_breaker_state(provider, after.state)
        return permit

    def observe(self, provider: str, outcomes: Sequence[bool], trial: bool) -> None:
        config, now = Config.from_settings(), time.time()
        if not trial and outcomes and all(outcomes) and healthy(self.read(provider), now, config):
            self._run(provider, lambda store, key: store.add_calls(key, len(outcomes)))
            return

        def change(breaker: Breaker) -> tuple[Breaker, tuple[Breaker, Breaker]]:
            after = observe(breaker, outcomes, trial, now, config)
            return after, (breaker, after)

        before, after = self._run(provider, lambda store, key: store.update(key, change))
        metrics.set_breaker_state(provider, after.state)
        if after.state != before.state:
            log.warning(
                "breaker_" + ("opened" if after.state == "open" else "closed"),
                provider=provider,
                consecutive_failures=before.consecutive,
                window_calls=before.calls,
                window_failures=before.failures,
            )

    def read(self, provider: str) -> Breaker:
        return self._run(provider, lambda store, key: store.read(key))

    async def admit_async(self, provider: str) -> Permit:
        """``admit`` on the event loop. A closed breaker, the common case, is one read with the
        loop's Redis client; any other state takes ``admit``'s transaction in a thread."""

        async def read(client: AsyncRedis, key: str) -> Breaker:
            return Breaker.load(await client.hgetall(key))

        seen = await self._run_async(provider, read, lambda memory, key: memory.read(key))
        if seen.state != "closed":
            return await asyncio.to_thread(self.admit, provider)
        metrics.set_breaker_state(provider, "closed")
        return Permit(allowed=True, seen=seen)

    async def observe_async(self, provider: str, outcomes: Sequence[bool], permit: Permit) -> None:
        """``observe`` on the event loop. Successes on a breaker that was healthy when the batch
        was admitted are one ``HINCRBY`` with the loop's client (the read ``observe`` would
        make, ``admit_async`` already made); anything else takes ``observe`` in a thread."""
        config, now = Config.from_settings(), time.time()
        n = len(outcomes)
        if permit.seen is not None and n and all(outcomes) and healthy(permit.seen, now, config):

            async def add(client: AsyncRedis, key: str) -> None:
                await client.hincrby(key, "calls", n)

            await self._run_async(provider, add, lambda memory, key: memory.add_calls(key, n))
            return
        await asyncio.to_thread(self.observe, provider, outcomes, permit.trial)

    def reset(self) -> None:
        """Close every breaker, here and in Redis (tests; an operator after an incident)."""
        self.memory.clear()
        store = self._redis()
        if store is not None:
            with contextlib.suppress(Exception):
                store.clear()


breakers = Breakers()


def states() -> dict[str, dict[str, Any]]:
    """Every configured provider's breaker, for /api/health, the admin and operators."""
    now = time.time()
    result = {}
    for provider in configured_providers():
        breaker = breakers.read(provider)
        state = breaker.state
        if state == "open" and now >= breaker.until:
            state = "half_open"  # the next call will be the trial
        metrics.set_breaker_state(provider, state)
        result[provider] = {
            "state": state,
            "consecutiveFailures": breaker.consecutive,
            "retryIn": round(max(breaker.until - now, 0.0), 1) if state != "closed" else 0.0,
            "timesOpened": breaker.opened,
        }
    return result


@dataclass
class Guarded:
    """Per message, the provider's result or None when the breaker kept it from being sent."""

    results: list[ProviderResult | None]
    retry_in: float = 0.0


async def send_guarded(
    provider: Provider, messages: Sequence[OutboundMessage], on_accepted: OnAccepted = ignore_acceptance
) -> Guarded:
    """Send a batch through the provider's breaker.

    While open, nothing is sent and ``retry_in`` says when to come back. The trial of a
    half-open breaker is the batch's first message alone; if it succeeds the rest follows.
    """
    permit = await breakers.admit_async(provider.name)
    if not permit.allowed:
        return Guarded([None] * len(messages), permit.retry_in)
    results: list[ProviderResult] = []
    pending = list(messages)
    while pending:
        chunk = pending[:1] if permit.trial else pending
        pending = pending[len(chunk) :]
        sent = await provider.send_batch(chunk, on_accepted)
        results.extend(sent)
        await breakers.observe_async(provider.name, [r.kind != "transient" for r in sent], permit)
        if permit.trial and sent[-1].kind == "transient":
            return Guarded(results + [None] * len(pending), float(settings.RELAY_BREAKER_COOLDOWN))
        permit = replace(permit, trial=False)
    return Guarded(list(results))
