"""HTTP request ids: one per request, bound to every log line, echoed in ``X-Request-ID``.

An incoming ``X-Request-ID`` (from a load balancer or the client) is kept when it looks like
an id, so one id follows a request across services; otherwise a new one is made.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

log = structlog.get_logger(__name__)

HEADER = "X-Request-ID"
VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_for(request: HttpRequest) -> str:
    """The incoming id when it looks like one, else a new one."""
    incoming = request.headers.get(HEADER, "")
    return incoming if VALID_ID.match(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Bind ``request_id``, ``method`` and ``path`` for the request; log one line when it ends."""

    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        started = self._start(request)
        response = self.get_response(request)
        assert isinstance(response, HttpResponseBase)
        return self._finish(request, response, started)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        started = self._start(request)
        response = await self.get_response(request)  # type: ignore[misc]
        return self._finish(request, response, started)

    @staticmethod
    def _start(request: HttpRequest) -> float:
        request_id = request_id_for(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, method=request.method, path=request.path
        )
        return time.perf_counter()

    @staticmethod
    def _finish(request: HttpRequest, response: HttpResponseBase, started: float) -> HttpResponseBase:
        response[HEADER] = request.request_id  # type: ignore[attr-defined]
        log.info(
            "request_finished",
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        # The context stays bound: Django logs errors and 4xx after the middleware returns.
        # The next request on this thread or task starts by clearing it.
        return response
