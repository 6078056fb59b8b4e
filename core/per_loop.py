"""Objects bound to one event loop (an asyncio client, a connection), kept per running loop.

An ASGI server runs one loop for its life; tests run a loop per test. Entries of loops that
have closed are dropped on the next access, handed to ``on_drop`` to release what they hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    def __init__(self, on_drop: Callable[[T], None] | None = None) -> None:
        self._items: dict[tuple[asyncio.AbstractEventLoop, str], T] = {}
        self._on_drop = on_drop

    def _key(self, key: str) -> tuple[asyncio.AbstractEventLoop, str]:
        for stale in [stale for stale in self._items if stale[0].is_closed()]:
            item = self._items.pop(stale)
            if self._on_drop is not None:
                self._on_drop(item)
        return asyncio.get_running_loop(), key

    def get(self, key: str) -> T | None:
        return self._items.get(self._key(key))

    def set(self, key: str, item: T) -> T:
        self._items[self._key(key)] = item
        return item

    def pop(self, key: str) -> T | None:
        return self._items.pop(self._key(key), None)
