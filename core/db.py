"""Running ORM work from the asyncio stages.

Stages batch their database work into a few synchronous functions and run each in a worker
thread, so one batch costs a handful of round trips and the event loop keeps fetching. The
threads form one bounded pool per process, so a process holds at most that many database
connections however many stages and event loops it runs.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")

_executor: ThreadPoolExecutor | None = None


def executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(
            max_workers=int(settings.RELAY_DB_THREADS), thread_name_prefix="relay-db"
        )
    return _executor


async def run_db(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``fn`` in the pool, with the caller's context (its log fields) and fresh connections.

    A plain ``run_in_executor``: asgiref's ``sync_to_async`` also copies the context back and
    keeps the bookkeeping ``async_to_sync`` needs inside the thread, which nothing run here
    uses, for about a tenth of a stage's CPU per batch (make bench, docs/BENCHMARKS.md).
    """

    def call() -> R:
        # Drop connections the server closed (restart, idle timeout) before using them.
        close_old_connections()
        return fn(*args, **kwargs)

    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(executor(), context.run, call)
