"""Running a pipeline process's event loop: uvloop where it is installed, asyncio elsewhere.

uvloop (installed with ``uvicorn[standard]`` on Linux and macOS) is what uvicorn itself runs
on; in the stages it trims the loop's share of every fetch, publish and ack (measured by
``make bench``, docs/BENCHMARKS.md). On Windows, where it does not exist, asyncio's own loop
runs the same code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from core import heap

T = TypeVar("T")

try:
    import uvloop
except ImportError:  # pragma: no cover - Windows
    uvloop = None  # type: ignore[assignment]


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when available, the collector set as the API's (``core.heap``)."""
    heap.settle()
    if uvloop is not None:
        return uvloop.run(main)
    return asyncio.run(main)
