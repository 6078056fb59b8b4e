"""``POST /api/events`` on the server's event loop: the API's busiest request without a thread.

Through Django, a single-event POST under an ASGI server costs a hand-off to a worker thread,
the whole middleware chain, DRF's request and response machinery, and a second hand-off to
the publisher's thread and back: ``make bench`` measured about 6 ms of CPU per request, of
which the work itself (validate, claim the id, look it up, publish) is a third. Here the
common case runs on the loop: Redis, the Event-table lookup (PostgreSQL) and JetStream are
awaited directly (docs/BENCHMARKS.md).

Anything out of the ordinary is handed to Django unchanged, before any side effect: a key
this process has not verified in the last few seconds (or whose last-used time is due), a
key without ``events:write``, a body that is not a valid event, a query string, a
Content-Type or Accept other than JSON, a throttled key. Every error therefore keeps the one
shape the DRF views give it; only 202, 200 (duplicate), 409 and 503 are answered here, with
the view's body and headers. A throttled request is counted once more by Django, in a window
it has already used up, which changes no answer. Middleware added to ``MIDDLEWARE`` does not
see these requests: set ``RELAY_FAST_ACCEPT=0`` when it must.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import IO, Any

import orjson
import structlog
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.urls import resolve, reverse
from django.utils import timezone
from django_prometheus.middleware import Metrics
from rest_framework.exceptions import APIException, ValidationError

from core import metrics
from core.request_id import HEADER as REQUEST_ID_HEADER
from core.request_id import request_id_from
from notifications import services
from notifications.answers import single_event_answer
from notifications.api_key_cache import remembered_key
from notifications.authentication import last_used_is_stale, raw_key_from_headers
from notifications.cache_batch import acount_and_claim
from notifications.errors import ServiceUnavailable, relay_exception_handler
from notifications.models import ApiKey, hash_api_key
from notifications.throttling import ApiKeyRateThrottle
from notifications.views import EventCreateView, event_checker

log = structlog.get_logger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
JSON_RANGES = {"*/*", "application/*", "application/json"}


def _media_types(value: str) -> set[str]:
    return {part.split(";", 1)[0].strip().lower() for part in value.split(",")}


class FastAccept:
    """Answers a ``POST /api/events`` the ordinary way, or declines it for Django."""

    def __init__(self) -> None:
        self.path = reverse("events")
        self.view_name = resolve(self.path).view_name
        self.scope = EventCreateView.required_scopes["POST"]
        self.fixed_headers = [
            (b"content-type", b"application/json"),
            (b"allow", b"POST, OPTIONS"),
            (b"x-frame-options", settings.X_FRAME_OPTIONS.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()),
            (b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()),
        ]

    def wants(self, scope: dict[str, Any]) -> bool:
        return scope["method"] == "POST" and scope["path"] == self.path and not scope.get("query_string")

    async def __call__(self, scope: dict[str, Any], body_file: IO[bytes], send: Send) -> bool:
        """True once the request is answered; False, with nothing done, to leave it to Django."""
        started = time.perf_counter()
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        key = self._key(headers)
        body = body_file.read(settings.RELAY_MAX_EVENT_BYTES + 1)
        validated = self._event(headers, body) if key is not None else None
        if key is None or validated is None:
            return self._decline(body_file)
        intake = services.Intake([validated])
        claims = await self._claim_if_allowed(key, intake)
        if claims is None:
            return self._decline(body_file)
        request_id = request_id_from(headers.get(REQUEST_ID_HEADER.lower(), ""))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, method="POST", path=self.path)
        status, payload, extra = await self._accept(intake, claims)
        content = orjson.dumps(payload)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    *self.fixed_headers,
                    (b"content-length", str(len(content)).encode()),
                    (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
        duration = time.perf_counter() - started
        log.info("request_finished", status=status, duration_ms=round(duration * 1000, 2))
        self._count(status, len(body), len(content), duration)
        metrics.FAST_ACCEPT.labels("answered").inc()
        return True

    @staticmethod
    def _decline(body_file: IO[bytes]) -> bool:
        body_file.seek(0)
        metrics.FAST_ACCEPT.labels("declined").inc()
        return False

    @staticmethod
    async def _claim_if_allowed(key: ApiKey, intake: services.Intake) -> list[str | None] | None:
        """Count the request against the key's throttle and claim the eventId, in one Redis
        round trip. None leaves the request to Django: throttled (the claim is released
        first), or Redis unreachable (Django's path knows how to do without it)."""
        throttle = ApiKeyRateThrottle()
        window = throttle.window(throttle.ident(key))
        keys, fingerprints = intake.claim_keys()
        try:
            hit = (window[0], window[1]) if window is not None else None
            count, claims = await acount_and_claim(hit, keys, fingerprints, settings.RELAY_DEDUP_TTL)
        except Exception:
            return None
        if window is not None and count is not None and not throttle.allows(window, count):
            ours = [k for k, held in zip(keys, claims, strict=True) if held is None]
            await services.release_claims_async(ours)
            return None
        return claims

    def _key(self, headers: dict[str, str]) -> ApiKey | None:
        """The request's API key if this process knows it well enough to skip every query."""
        raw = raw_key_from_headers(headers.get("authorization", ""), headers.get("x-api-key", ""))
        if raw is None or not raw.startswith("rk_"):
            return None
        key = remembered_key(hash_api_key(raw))
        if key is None or self.scope not in key.scopes or last_used_is_stale(key, timezone.now()):
            return None
        return key

    @staticmethod
    def _event(headers: dict[str, str], body: bytes) -> dict[str, Any] | None:
        """The validated event, or None for anything Django must answer (parse and field errors)."""
        if _media_types(headers.get("content-type", "")) != {"application/json"}:
            return None
        accept = headers.get("accept")
        if accept is not None and not _media_types(accept) & JSON_RANGES:
            return None
        if len(body) > settings.RELAY_MAX_EVENT_BYTES or b"\\u0000" in body:
            return None
        try:
            return dict(event_checker().run_validation(orjson.loads(body)))
        except (orjson.JSONDecodeError, ValidationError):
            return None

    @staticmethod
    async def _accept(
        intake: services.Intake, claims: list[str | None]
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        try:
            (result,) = await services.accept_claimed_async(intake, claims)
            if result.outcome == "unavailable":
                raise ServiceUnavailable(retry_after=settings.RELAY_RETRY_AFTER_SECONDS)
        except (APIException, OperationalError, InterfaceError) as error:
            response = relay_exception_handler(error, {})
            assert response is not None  # both kinds have an answer
            extra = [(name.lower().encode(), str(value).encode()) for name, value in response.items()]
            return response.status_code, response.data, extra
        status, payload = single_event_answer(result)
        return status, payload, []

    def _count(self, status: int, received: int, sent: int, duration: float) -> None:
        """The request metrics django-prometheus's middleware would have recorded."""
        m = Metrics.get_instance()
        m.requests_total.inc()
        m.responses_total.inc()
        m.requests_by_method.labels(method="POST").inc()
        m.requests_by_transport.labels(transport="http").inc()
        m.requests_body_bytes.observe(received)
        m.requests_by_view_transport_method.labels(view=self.view_name, transport="http", method="POST").inc()
        m.responses_by_status.labels(status=str(status)).inc()
        m.responses_by_status_view_method.labels(status=str(status), view=self.view_name, method="POST").inc()
        m.responses_by_charset.labels(charset="utf-8").inc()
        m.responses_body_bytes.observe(sent)
        m.requests_latency_by_view_method.labels(view=self.view_name, method="POST").observe(duration)
        m.requests_latency_before.observe(duration)
