"""Django's HTTP handler for ASGI servers, running each request in one pooled worker thread.

Relay's views and middleware are synchronous (DRF, WhiteNoise). Django's stock ASGI handler
then gives every request a brand-new thread (``ThreadSensitiveContext``), hence a brand-new
database connection, and bounces between the event loop and threads at every middleware that
is only sync-capable. Measured with ``make bench`` (docs/BENCHMARKS.md) that cost most of the
API's time. Here the whole chain runs synchronously, as under WSGI, in a bounded pool whose
threads keep their database connections (``CONN_MAX_AGE``) from one request to the next.
Every request, ``POST /api/events`` included, takes that one path: middleware, DRF, the view.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

T = TypeVar("T")


class PooledASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._executor = ThreadPoolExecutor(
            max_workers=int(settings.RELAY_HTTP_THREADS), thread_name_prefix="relay-http"
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """One hop to the pool per request.

        Django's own ``handle`` also sends ``request_started`` and closes the response
        through asgiref with ``thread_sensitive=True``, i.e. two more hops per request, both
        through one process-wide thread that every request queues for, plus two tasks per
        request to watch for a disconnect that cannot stop a sync view anyway. py-spy put
        that machinery at half of the API process's CPU (docs/BENCHMARKS.md). Here the
        signals, the middleware chain and the view run in one pooled thread, where
        ``request_finished`` also closes that thread's database connection when due.
        """
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            response = await self._in_pool(self._serve, scope, body_file)
            await self.send_response(response, send)
            if response.streaming:  # a file is closed once it has been sent, not before
                await self._in_pool(response.close)
        finally:
            body_file.close()

    async def _in_pool(self, fn: Callable[..., T], *args: Any) -> T:
        # asgiref (not run_in_executor) so that async_to_sync in a view finds this event loop.
        return await sync_to_async(fn, thread_sensitive=False, executor=self._executor)(*args)

    def _serve(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        assert response is not None
        if not response.streaming:
            response.close()  # its content is in memory already; sends request_finished
        return response
