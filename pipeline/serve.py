"""Everything in one process: the ASGI server (HTTP + WebSocket), every stage, the scheduler.

This is the embedded mode behind ``make run``; production runs each piece in its own process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Generator
from contextlib import contextmanager
from typing import Any

import uvicorn

from core.names import names
from pipeline.runner import all_stage_specs, ensure_streams, install_stop_signals, stage_tasks
from pipeline.scheduler import run_scheduler


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: run_all owns the signals and stops both."""

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_all(host: str, port: int, with_http: bool = True) -> None:
    stop = asyncio.Event()
    server = EmbeddedServer(
        # log_config=None: uvicorn logs through Relay's structlog setup instead of its own format.
        uvicorn.Config(
            "config.asgi:application",
            host=host,
            port=port,
            log_level="info",
            lifespan="off",
            log_config=None,
        )
    )

    def stop_server() -> None:
        server.should_exit = True

    install_stop_signals(stop, also=stop_server)
    await ensure_streams()
    tasks: list[Awaitable[Any]] = [
        task for spec in all_stage_specs(names()) for task in stage_tasks(spec, stop)
    ]
    tasks.append(run_scheduler(stop))  # deferred and scheduled deliveries, expiry
    if with_http:
        tasks.append(server.serve())
    await asyncio.gather(*tasks)
