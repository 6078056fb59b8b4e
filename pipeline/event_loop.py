"""Running a pipeline process's event loop: uvloop where it is installed, asyncio elsewhere.

uvloop (installed with ``uvicorn[standard]`` on Linux and macOS) is what uvicorn itself runs
on; in the stages it trims the loop's share of every fetch, publish and ack (measured by
``make bench``, docs/BENCHMARKS.md). On Windows, where it does not exist, asyncio's own loop
runs the same code.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

try:
    import uvloop
except ImportError:  # pragma: no cover - Windows
    uvloop = None  # type: ignore[assignment]


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when available.

    What is loaded by now (Django, the apps, the providers' SDKs) lives as long as the process:
    frozen out of the collector's sight, the collections a batch's ORM objects set off no
    longer walk it (as ``config/asgi.py`` does for the API).
    """
    gc.freeze()
    if uvloop is not None:
        return uvloop.run(main)
    return asyncio.run(main)
