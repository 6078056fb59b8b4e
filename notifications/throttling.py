"""API rate limits: one counter per API key (and per subscriber token) in the default cache.

A fixed window counted with the cache's atomic ``incr`` (Redis ``INCR`` in production)
instead of DRF's default history list: one round trip per request whatever the rate, and
correct when many API processes share the key. Rates come from settings
(``DEFAULT_THROTTLE_RATES``), read on every request so a test can lower them.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from notifications.cache_batch import count_hit
from notifications.models import ApiKey
from notifications.subscriber_auth import SubscriberAuth


class CountingRateThrottle(SimpleRateThrottle):
    """429 with Retry-After (seconds to the next window) once a client used up its window."""

    wait_seconds: float | None = None

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        window = self.window(self.get_cache_key(request, view))
        return window is None or self.allows(window, count_hit(window[0], timeout=window[1]))

    def window(self, ident: str | None) -> tuple[str, int, float] | None:
        """The counter of this moment's window: (key, its lifetime, the moment); None: no limit."""
        self.rate = self.get_rate()
        if self.rate is None or ident is None:
            return None
        self.num_requests, self.duration = self.parse_rate(self.rate)
        now = self.timer()
        return f"{ident}:{int(now // self.duration)}", self.duration + 1, now

    def allows(self, window: tuple[str, int, float], count: int) -> bool:
        if count > self.num_requests:
            self.wait_seconds = (window[2] // self.duration + 1) * self.duration - window[2]
            return False
        return True

    def wait(self) -> float | None:
        return self.wait_seconds


class ApiKeyRateThrottle(CountingRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = request.auth
        return self.ident(key) if isinstance(key, ApiKey) else None

    def ident(self, key: ApiKey) -> str:
        return f"throttle:{self.scope}:{key.pk}"


class SubscriberRateThrottle(CountingRateThrottle):
    scope = "subscriber"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        auth = request.auth
        return f"throttle:{self.scope}:{auth.subscriber.pk}" if isinstance(auth, SubscriberAuth) else None
