"""Django's HTTP handler for ASGI servers, running each request in one pooled worker thread.

Relay's views and middleware are synchronous (DRF, WhiteNoise). Django's stock ASGI handler
then gives every request a brand-new thread (``ThreadSensitiveContext``), hence a brand-new
database connection, and bounces between the event loop and threads at every middleware that
is only sync-capable. Measured with ``make bench`` (docs/BENCHMARKS.md) that cost most of the
API's time. Here the whole chain runs synchronously, as under WSGI, in a bounded pool whose
threads keep their database connections (``CONN_MAX_AGE``) from one request to the next.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections
from django.http import FileResponse, HttpRequest, HttpResponseBase


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

    def _respond(self, request: HttpRequest) -> HttpResponseBase:
        # The request_started/finished signals run on the event loop's side, not in this
        # thread: honour CONN_MAX_AGE and drop broken connections here instead.
        close_old_connections()
        try:
            return self.get_response(request)
        finally:
            close_old_connections()

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        response = await sync_to_async(self._respond, thread_sensitive=False, executor=self._executor)(
            request
        )
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response
