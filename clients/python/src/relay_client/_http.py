"""What the sync and async clients share around one HTTP exchange: the retry policy, the
wait before a retry, and the typed error of a failed answer."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from relay_client import errors

RETRY_STATUSES = frozenset({429, 503})
USER_AGENT = "relay-client-python/0.1.0"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry 429 and 503 answers (and lost connections, for calls
    that are safe to repeat).

    The wait is the server's ``Retry-After`` when it gives one, else exponential backoff
    (``backoff * 2**attempt``, capped at ``max_backoff``, with jitter). A ``Retry-After``
    longer than ``max_retry_after`` is not waited for: the error is raised at once, with its
    ``retry_after``, for the caller to decide.
    """

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 10.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None to give up."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return min(self.max_backoff, self.backoff * 2**attempt) * random.uniform(0.5, 1.0)


NO_RETRIES = RetryPolicy(max_retries=0)


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds: a number, or an HTTP date (RFC 9110)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def should_retry(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES


def decoded(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def error_for(response: httpx.Response) -> errors.RelayError:
    """The typed error of a 4xx/5xx answer, with the server's message when it gave one."""
    body = decoded(response)
    status = response.status_code
    detail = body.get("detail") if isinstance(body, dict) else None
    message = f"{status} {response.reason_phrase}: {detail or body or ''}".rstrip(": ")
    if status == 429:
        return errors.RateLimited(message, status, body, retry_after(response))
    if status == 503:
        return errors.Unavailable(message, status, body, retry_after(response))
    if status in errors.ERRORS_BY_STATUS:
        return errors.ERRORS_BY_STATUS[status](message, status, body)
    if status >= 500:
        return errors.ServerError(message, status, body)
    return errors.RelayError(message, status, body)


def headers(api_key: str | None, token: str | None) -> dict[str, str]:
    """Authenticate with an API key (server side) or a subscriber token (one subscriber's own)."""
    if api_key and token:
        raise ValueError("Give either api_key or token, not both.")
    credential = api_key or token
    auth = {"Authorization": f"Bearer {credential}"} if credential else {}
    return {"User-Agent": USER_AGENT, "Accept": "application/json", **auth}


@dataclass(frozen=True)
class Done:
    """A successful answer, decoded."""

    body: Any


def settle(
    outcome: httpx.Response | httpx.TransportError, idempotent: bool, attempt: int, policy: RetryPolicy
) -> Done | float:
    """What to do after one attempt: ``Done``, seconds to wait before the next, or raise.

    A 429 or 503 is retried whatever the call (the server did nothing with it); a lost
    connection only for calls that are safe to repeat, since the server may have acted.
    """
    if isinstance(outcome, httpx.TransportError):
        wait = policy.delay(attempt, None) if idempotent else None
        if wait is None:
            raise errors.RelayConnectionError(f"{type(outcome).__name__}: {outcome}") from outcome
        return wait
    if outcome.is_success:
        return Done(decoded(outcome))
    wait = policy.delay(attempt, retry_after(outcome)) if should_retry(outcome) else None
    if wait is None:
        raise error_for(outcome)
    return wait
