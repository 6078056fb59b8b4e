"""Sending the messages: claim what is due from PostgreSQL, POST it, record every attempt.

The retry time of every message lives in its row (``next_attempt_at``), so a restart or a
``kill -9`` loses nothing: a claim moves ``next_attempt_at`` a lease ahead
(``RELAY_STATUS_WEBHOOK_LEASE``) and commits before the POST, so a worker that dies mid-POST
leaves the message due again after the lease, and it is sent again with the same
``webhook-id`` (at least once; the receiver dedups on the id). Claims use ``SKIP LOCKED``, so
any number of workers share the work.

POSTs run concurrently, at most ``RELAY_STATUS_WEBHOOK_ENDPOINT_CONCURRENCY`` per endpoint
and ``RELAY_STATUS_WEBHOOK_CONCURRENCY`` in all: a slow endpoint holds its own slots only.
Each endpoint's messages are claimed in the order they are due. Outcomes are written in
batches: the attempts, the messages' next state, the endpoints' failure state.

Retries follow ``RELAY_STATUS_WEBHOOK_RETRY_SECONDS`` with jitter; a message whose last retry
fails is ``failed``. A ``410`` disables the endpoint at once; an endpoint whose attempts all
failed for ``RELAY_STATUS_WEBHOOK_DISABLE_AFTER`` is disabled, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import orjson
import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from core import ssrf, webhook_signing
from core.bulk import insert_all, update_fields
from core.db import run_db
from core.per_loop import PerLoop
from webhooks import subscriptions
from webhooks.models import MessageStatus, StatusEvent, WebhookAttempt, WebhookEndpoint, WebhookMessage
from webhooks.secrets import signing_secrets

log = structlog.get_logger(__name__)

EXCERPT = 500


def body_of(event: StatusEvent) -> bytes:
    """The JSON body of every attempt of a status event's messages (the same each time)."""
    return orjson.dumps({"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": event.data})


def retry_delay(attempt: int) -> float | None:
    """Seconds before the retry after failed attempt number ``attempt``; None: no retry left."""
    schedule = settings.RELAY_STATUS_WEBHOOK_RETRY_SECONDS
    if attempt > len(schedule):
        return None
    base = float(schedule[attempt - 1])
    jitter = float(settings.RELAY_STATUS_WEBHOOK_JITTER)
    return max(0.0, base * (1 + random.uniform(-jitter, jitter)))


@dataclass(frozen=True)
class Claimed:
    message_id: int
    endpoint_id: int
    webhook_id: str
    url: str
    secrets: tuple[str, ...]
    body: bytes
    attempt: int
    scheduled_at: datetime


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str = ""
    response: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def claim(now: datetime, room: int, busy: dict[int, int]) -> list[Claimed]:
    """Lease up to ``room`` due messages, oldest due first, at most the free slots of each
    endpoint (``busy``: POSTs in flight per endpoint); commit; return them in due order."""
    per_endpoint = int(settings.RELAY_STATUS_WEBHOOK_ENDPOINT_CONCURRENCY)
    full = [endpoint for endpoint, count in busy.items() if count >= per_endpoint]
    candidates = (
        WebhookMessage.objects.filter(
            status=MessageStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
        )
        .exclude(endpoint_id__in=full)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("endpoint_id")],
                order_by=[F("next_attempt_at").asc(), F("id").asc()],
            )
        )
        .filter(rank__lte=per_endpoint)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "endpoint_id")
    )
    taken: Counter[int] = Counter()
    wanted: list[int] = []
    for pk, endpoint in candidates[: room + sum(busy.values())]:
        if len(wanted) >= room:
            break
        if busy.get(endpoint, 0) + taken[endpoint] < per_endpoint:
            taken[endpoint] += 1
            wanted.append(pk)
    if not wanted:
        return []
    lease = now + timedelta(seconds=float(settings.RELAY_STATUS_WEBHOOK_LEASE))
    with transaction.atomic():
        due = dict(
            WebhookMessage.objects.select_for_update(skip_locked=True)
            .filter(pk__in=wanted, status=MessageStatus.PENDING, next_attempt_at__lte=now)
            .values_list("pk", "next_attempt_at")
        )
        WebhookMessage.objects.filter(pk__in=list(due)).update(next_attempt_at=lease, updated_at=now)
    messages = WebhookMessage.objects.filter(pk__in=list(due)).select_related("endpoint", "status_event")
    claimed = [
        Claimed(
            message_id=m.pk,
            endpoint_id=m.endpoint_id,
            webhook_id=m.webhook_id,
            url=m.endpoint.url,
            secrets=signing_secrets(m.endpoint, now),
            body=body_of(m.status_event),
            attempt=m.attempts + 1,
            scheduled_at=due[m.pk],
        )
        for m in messages
    ]
    return sorted(claimed, key=lambda c: (c.scheduled_at, c.message_id))


async def post(client: httpx.AsyncClient, claimed: Claimed) -> Outcome:
    """One attempt: the SSRF guard, then the signed POST; never raises."""
    at, started = timezone.now(), time.perf_counter()

    def outcome(**fields: object) -> Outcome:
        duration = int((time.perf_counter() - started) * 1000)
        return Outcome(claimed, at, duration, **fields)  # type: ignore[arg-type]

    try:
        target = await ssrf.pinned(httpx.URL(claimed.url))
    except (OSError, httpx.InvalidURL) as error:
        return outcome(error=f"dns: {error}"[:EXCERPT])
    if target is None:
        return outcome(error="refused: the host is not a public address (SSRF guard)")
    url, extra = target
    headers = {
        **extra.pop("headers", {}),
        **webhook_signing.headers(claimed.webhook_id, int(time.time()), claimed.body, claimed.secrets),
        "content-type": "application/json",
        "user-agent": "Relay-Webhooks/1",
    }
    try:
        response = await client.post(url, content=claimed.body, headers=headers, **extra)
    except httpx.TimeoutException as error:
        return outcome(error=f"timeout: {type(error).__name__}")
    except httpx.HTTPError as error:
        return outcome(error=f"{type(error).__name__}: {error}"[:EXCERPT])
    return outcome(status_code=response.status_code, response=response.text[:EXCERPT])


def record(outcomes: Sequence[Outcome]) -> None:
    """Write a batch of outcomes in one transaction: attempts, messages, endpoints."""
    if not outcomes:
        return
    now = timezone.now()
    messages: list[WebhookMessage] = []
    for o in outcomes:
        status, due = MessageStatus.DELIVERED, now
        if not o.ok:
            delay = None if o.gone else retry_delay(o.claimed.attempt)
            status = MessageStatus.PENDING if delay is not None else MessageStatus.FAILED
            due = now + timedelta(seconds=delay or 0)
        messages.append(
            WebhookMessage(
                pk=o.claimed.message_id,
                status=status,
                attempts=o.claimed.attempt,
                next_attempt_at=due,
                updated_at=now,
            )
        )
    succeeded = {o.claimed.endpoint_id for o in outcomes if o.ok}
    failing = {o.claimed.endpoint_id for o in outcomes if not o.ok} - succeeded
    gone = {o.claimed.endpoint_id for o in outcomes if o.gone}
    with transaction.atomic():
        insert_all(
            WebhookAttempt,
            [
                WebhookAttempt(
                    message_id=o.claimed.message_id,
                    attempt=o.claimed.attempt,
                    at=o.at,
                    scheduled_at=o.claimed.scheduled_at,
                    status_code=o.status_code,
                    duration_ms=o.duration_ms,
                    error=o.error,
                    response=o.response,
                )
                for o in outcomes
            ],
        )
        update_fields(WebhookMessage, messages, ["status", "attempts", "next_attempt_at", "updated_at"])
        endpoints = WebhookEndpoint.objects
        endpoints.filter(pk__in=succeeded, failing_since__isnull=False).update(failing_since=None)
        endpoints.filter(pk__in=failing, failing_since__isnull=True).update(failing_since=now)
        disabled = endpoints.filter(pk__in=gone, enabled=True).update(
            enabled=False, disabled_reason=f"The endpoint answered 410 Gone ({now.isoformat()})."
        )
        since = now - timedelta(seconds=float(settings.RELAY_STATUS_WEBHOOK_DISABLE_AFTER))
        disabled += endpoints.filter(pk__in=failing, enabled=True, failing_since__lte=since).update(
            enabled=False,
            disabled_reason=f"Every attempt failed for {since_text()} (until {now.isoformat()}).",
        )
        if disabled:
            transaction.on_commit(subscriptions.changed)
            log.warning("webhook_endpoints_disabled", endpoints=disabled)


def since_text() -> str:
    seconds = float(settings.RELAY_STATUS_WEBHOOK_DISABLE_AFTER)
    return f"{seconds / 86400:g} days" if seconds >= 86400 else f"{seconds:g} seconds"


_dispatchers: PerLoop[Dispatcher] = PerLoop()


def nudge() -> None:
    """New messages are due now: wake this loop's dispatcher, if it runs one."""
    dispatcher = _dispatchers.get("dispatcher")
    if dispatcher is not None:
        dispatcher.wake.set()


class Dispatcher:
    """Claims, sends and records until stopped; see the module's docstring."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.busy: Counter[int] = Counter()
        self.done: list[Outcome] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.client: httpx.AsyncClient | None = None

    async def run(self, stop: asyncio.Event) -> None:
        _dispatchers.set("dispatcher", self)
        total = int(settings.RELAY_STATUS_WEBHOOK_CONCURRENCY)
        self.client = httpx.AsyncClient(
            timeout=float(settings.RELAY_STATUS_WEBHOOK_TIMEOUT),
            limits=httpx.Limits(max_connections=total),
            follow_redirects=False,
            trust_env=False,
        )
        log.info("webhook_dispatcher_started", concurrency=total)
        try:
            while not stop.is_set():
                try:
                    await self.step()
                except Exception:
                    log.exception("webhook_dispatch_failed")
                    await asyncio.sleep(1.0)
                await self.idle(stop)
            if self.tasks:
                await asyncio.wait(self.tasks, timeout=float(settings.RELAY_STATUS_WEBHOOK_TIMEOUT) + 1)
            await run_db(record, self.take_done())
        finally:
            await self.client.aclose()
            log.info("webhook_dispatcher_stopped")

    def take_done(self) -> list[Outcome]:
        done, self.done = self.done, []
        return done

    async def step(self) -> None:
        """Record what finished, then claim and start what is due and fits."""
        done = self.take_done()
        try:
            await run_db(record, done)
        except Exception:
            self.done = done + self.done  # written with the next batch
            raise
        room = int(settings.RELAY_STATUS_WEBHOOK_CONCURRENCY) - sum(self.busy.values())
        if room <= 0:
            return
        for claimed in await run_db(claim, timezone.now(), room, dict(self.busy)):
            self.busy[claimed.endpoint_id] += 1
            task = asyncio.create_task(self.attempt(claimed))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def attempt(self, claimed: Claimed) -> None:
        assert self.client is not None
        try:
            outcome = await post(self.client, claimed)
        except Exception as error:  # whatever escaped post(): a failed attempt, retried on schedule
            log.exception("webhook_post_failed", message_id=claimed.message_id)
            outcome = Outcome(claimed, timezone.now(), 0, error=f"{type(error).__name__}: {error}"[:EXCERPT])
        try:
            self.done.append(outcome)
        finally:
            self.busy[claimed.endpoint_id] -= 1
            self.wake.set()

    async def idle(self, stop: asyncio.Event) -> None:
        """Until a POST finishes, new messages arrive, a stop, or the poll interval."""
        if self.done:
            return
        self.wake.clear()
        waits = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(
                waits, timeout=float(settings.RELAY_STATUS_WEBHOOK_POLL), return_when="FIRST_COMPLETED"
            )
        for waiter in waits:
            waiter.cancel()
