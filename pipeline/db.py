"""Running ORM work from the asyncio stages.

Stages batch their database work into a few synchronous functions and run each in a worker
thread, so one batch costs a handful of round trips and the event loop keeps fetching. The
threads form one bounded pool per process, so a process holds at most that many database
connections however many stages and event loops it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
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
    def call() -> R:
        # Drop connections the server closed (restart, idle timeout) before using them.
        close_old_connections()
        return fn(*args, **kwargs)

    return await sync_to_async(call, thread_sensitive=False, executor=executor())()
