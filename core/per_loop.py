"""Objects bound to one event loop (an asyncio client), kept per running loop.

A worker runs one loop for its life; tests run a loop per test. Entries of loops that have
closed are dropped on the next access.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    def __init__(self) -> None:
        self._items: dict[tuple[asyncio.AbstractEventLoop, str], T] = {}

    def _key(self, key: str) -> tuple[asyncio.AbstractEventLoop, str]:
        for stale in [stale for stale in self._items if stale[0].is_closed()]:
            del self._items[stale]
        return asyncio.get_running_loop(), key

    def get(self, key: str) -> T | None:
        return self._items.get(self._key(key))

    def set(self, key: str, item: T) -> T:
        self._items[self._key(key)] = item
        return item
