"""Publishing to JetStream from synchronous code: the API's views, the admin, commands.

``JetStreamSender`` holds one NATS connection on one event loop and publishes with
``Nats-Msg-Id``. ``get_publisher()`` keeps the process's sender on its own loop in a daemon
thread, so one connection serves every request of the process whatever server runs Django
(WSGI, ASGI, the test client).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import structlog
from django.conf import settings
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import PubAck

from core import nats_client

log = structlog.get_logger(__name__)

Item = tuple[str, bytes, str]  # subject, payload, Nats-Msg-Id


class PublishUnavailable(Exception):
    """JetStream did not confirm storage in time; nothing may be assumed stored."""


class JetStreamSender:
    """One NATS connection, made on first use on the loop that uses it."""

    # After a failed connect, fail fast for this long instead of making every request wait.
    CONNECT_BACKOFF = 1.0

    def __init__(self, url: str) -> None:
        self.url = url
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._lock: asyncio.Lock | None = None
        self._failed_at = 0.0

    async def _context(self) -> JetStreamContext:
        if self._js is not None and self._nc is not None and not self._nc.is_closed:
            return self._js
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._js is not None and self._nc is not None and not self._nc.is_closed:
                return self._js
            if time.monotonic() - self._failed_at < self.CONNECT_BACKOFF:
                raise PublishUnavailable("NATS unreachable (recent connect failure)")
            # The connection's own tasks (reconnects, errors) inherit this context: without this
            # they would log with the request id of whichever request happened to connect.
            context = structlog.contextvars.get_contextvars()
            structlog.contextvars.clear_contextvars()
            try:
                # nats-py keeps retrying a first connect that fails; a request cannot wait for it.
                self._nc = await asyncio.wait_for(
                    nats_client.connect(
                        "relay-api", servers=self.url, max_reconnect_attempts=-1, connect_timeout=1
                    ),
                    timeout=float(settings.RELAY_PUBLISH_TIMEOUT),
                )
            except Exception as error:
                self._failed_at = time.monotonic()
                raise PublishUnavailable(f"NATS unreachable: {error}") from error
            finally:
                structlog.contextvars.bind_contextvars(**context)
            self._js = self._nc.jetstream(timeout=float(settings.RELAY_PUBLISH_TIMEOUT))
            return self._js

    async def publish_many(self, items: Sequence[Item]) -> list[PubAck | Exception]:
        """Publish every item with its ack awaited all at once; each result is a PubAck or the
        exception for that item.

        ``publish_async`` sends each message with a reply subject under one shared inbox; a
        request per message (``js.publish``) made a future, a task and a timer for each, which
        ``make bench`` put at a third of the API's CPU in the batch phase (docs/BENCHMARKS.md).
        An ack missing at the deadline is an error for that item: nothing is assumed stored.
        """
        try:
            js = await self._context()
        except PublishUnavailable as error:
            return [error for _ in items]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(settings.RELAY_PUBLISH_TIMEOUT)
        sent: list[asyncio.Future[PubAck] | Exception] = []
        try:
            for subject, payload, msg_id in items:
                if loop.time() >= deadline:  # sending stalled (too many acks pending): stop here
                    break
                sent.append(await self._send(js, subject, payload, msg_id))
            waiting = [ack for ack in sent if isinstance(ack, asyncio.Future)]
            if waiting:
                await asyncio.wait(waiting, timeout=max(deadline - loop.time(), 0.0))
        finally:
            for ack in sent:  # also when cancelled: an ack nobody awaits must not hold a slot
                if isinstance(ack, asyncio.Future) and not ack.done():
                    ack.cancel()
        unsent = PublishUnavailable("JetStream did not accept the message in time")
        return [_outcome(ack) for ack in sent] + [unsent for _ in items[len(sent) :]]

    @staticmethod
    async def _send(
        js: JetStreamContext, subject: str, payload: bytes, msg_id: str
    ) -> asyncio.Future[PubAck] | Exception:
        try:
            return await js.publish_async(subject, payload, headers={"Nats-Msg-Id": msg_id})
        except Exception as error:  # each item reports its own outcome
            return PublishUnavailable(f"{type(error).__name__}: {error}")

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()


def _outcome(ack: asyncio.Future[PubAck] | Exception) -> PubAck | Exception:
    """One item's result once the wait is over: its PubAck, or why it is not known stored."""
    if isinstance(ack, Exception):
        return ack
    if ack.cancelled():
        return PublishUnavailable("JetStream did not acknowledge in time")
    error = ack.exception()
    if error is not None:
        return PublishUnavailable(f"{type(error).__name__}: {error}")
    return ack.result()


class Publisher:
    """A ``JetStreamSender`` on a private loop thread, for synchronous callers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sender = JetStreamSender(url)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="nats-pub")
        self._thread.start()

    def _run(self, coroutine: Any, timeout: float) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError as error:
            future.cancel()
            raise PublishUnavailable("JetStream did not acknowledge in time") from error

    def publish_many(self, items: Sequence[Item]) -> list[PubAck | Exception]:
        """Publish concurrently; each result is a PubAck or the exception for that item."""
        timeout = float(settings.RELAY_PUBLISH_TIMEOUT) + 3.0
        try:
            return list(self._run(self._sender.publish_many(items), timeout))
        except PublishUnavailable as error:
            return [error for _ in items]

    def close(self) -> None:
        try:
            self._run(self._sender.close(), 5)
        except Exception:  # closing a broken connection must not fail shutdown
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)


_publisher: Publisher | None = None
_publisher_lock = threading.Lock()


def get_publisher() -> Publisher:
    """The process-wide publisher, rebuilt if the NATS URL changed (tests switch servers)."""
    global _publisher
    url = nats_client.nats_url()
    with _publisher_lock:
        if _publisher is None or _publisher.url != url:
            if _publisher is not None:
                _publisher.close()
            _publisher = Publisher(url)
        return _publisher
