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
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        count = count_hit(f"{ident}:{window}", timeout=self.duration + 1)  # one round trip with Redis
        if count > self.num_requests:
            self.wait_seconds = (window + 1) * self.duration - now
            return False
        return True

    def wait(self) -> float | None:
        return self.wait_seconds


class ApiKeyRateThrottle(CountingRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = request.auth
        return f"throttle:{self.scope}:{key.pk}" if isinstance(key, ApiKey) else None


class SubscriberRateThrottle(CountingRateThrottle):
    scope = "subscriber"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        auth = request.auth
        return f"throttle:{self.scope}:{auth.subscriber.pk}" if isinstance(auth, SubscriberAuth) else None
