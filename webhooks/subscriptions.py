"""Which status event types any enabled endpoint wants, kept in process memory.

Every delivery transition, inbox read and finished run asks this first; with no endpoint
wanting the type the answer costs a set lookup (and at most one cache read a second, for the
shared generation that any endpoint change bumps: core/generation.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from core.generation import SharedGeneration
from webhooks.event_types import EVENT_TYPES
from webhooks.models import WebhookEndpoint

generation = SharedGeneration("relay:webhook-endpoints")


@dataclass(frozen=True)
class Subscription:
    endpoint_id: int
    types: frozenset[str]


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: tuple[Subscription, ...] | None = None
        self._wanted: frozenset[str] = frozenset()

    def _load(self) -> tuple[tuple[Subscription, ...], frozenset[str]]:
        if generation.moved() or self._subscriptions is None:
            rows = WebhookEndpoint.objects.filter(enabled=True).values_list("pk", "events")
            subscriptions = tuple(
                Subscription(pk, frozenset(events) if events else frozenset(EVENT_TYPES))
                for pk, events in rows
            )
            wanted = frozenset().union(*(s.types for s in subscriptions))
            with self._lock:
                self._subscriptions, self._wanted = subscriptions, wanted
        with self._lock:
            assert self._subscriptions is not None
            return self._subscriptions, self._wanted

    def wanted(self) -> frozenset[str]:
        return self._load()[1]

    def subscriptions(self) -> tuple[Subscription, ...]:
        return self._load()[0]

    def clear(self) -> None:
        with self._lock:
            self._subscriptions = None


_cache = _Cache()


def wanted_types() -> frozenset[str]:
    """The event types at least one enabled endpoint subscribes to."""
    return _cache.wanted()


def subscriptions() -> tuple[Subscription, ...]:
    """Every enabled endpoint with the types it subscribes to."""
    return _cache.subscriptions()


def changed() -> None:
    """An endpoint was created, changed or deleted: every process reloads (this one at once)."""
    _cache.clear()
    generation.bump()
