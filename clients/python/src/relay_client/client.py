"""``Relay`` (sync) and ``AsyncRelay`` (async): the same methods, built from ``_ops``.

Each method is an ``_ops`` builder bound to the client's way of sending, so the signatures,
docstrings and request shapes exist once (``relay.trigger`` is ``_ops.trigger`` sent).
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx

from relay_client import _ops, models
from relay_client._http import Done, RetryPolicy, headers, settle
from relay_client._ops import Op
from relay_client.realtime import InboxSocket

T = TypeVar("T")
PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")
P = ParamSpec("P")

DEFAULT_BASE_URL = "http://localhost:8000"
DEFAULT_TIMEOUT = 10.0


class _Sends(Protocol):
    def send(self, op: Op[T]) -> T: ...


class _SendsAsync(Protocol):
    async def send(self, op: Op[T]) -> T: ...


def _sent(build: Callable[P, Op[T]]) -> Callable[Concatenate[_Sends, P], T]:
    @functools.wraps(build)
    def method(self: _Sends, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.send(build(*args, **kwargs))

    return method


def _sent_async(build: Callable[P, Op[T]]) -> Callable[Concatenate[_SendsAsync, P], Awaitable[T]]:
    @functools.wraps(build)
    async def method(self: _SendsAsync, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.send(build(*args, **kwargs))

    return method


@dataclass(frozen=True)
class _Walk(Generic[PageT, ItemT]):
    """How one paginated listing goes on: its items, the next page's cursor, and the
    parameter that cursor is passed back as."""

    items: Callable[[PageT], list[ItemT]]
    cursor: Callable[[PageT], Any]
    param: str


def _delivery_cursor(page: models.DeliveryPage) -> str | None:
    """The ``cursor`` of the page's ``next`` link, sent again on this client's own base URL
    (a proxy in front of Relay may make the server's idea of its URL a different one)."""
    if not page["next"]:
        return None
    return parse_qs(urlsplit(page["next"]).query).get("cursor", [None])[0]


INBOX = _Walk[models.InboxPage, models.InboxMessage](
    lambda p: p["messages"], lambda p: p["nextCursor"], "cursor"
)
DELIVERIES = _Walk[models.DeliveryPage, models.Delivery](lambda p: p["results"], _delivery_cursor, "cursor")
MEMBERS = _Walk[models.TopicMembersPage, str](lambda p: p["userIds"], lambda p: p["next"], "after")


def _every(
    build: Callable[P, Op[PageT]], walk: _Walk[PageT, ItemT]
) -> Callable[Concatenate[_Sends, P], Iterator[ItemT]]:
    def method(self: _Sends, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[ItemT]:
        query: dict[str, Any] = dict(kwargs)
        while True:
            page = self.send(build(*args, **query))
            yield from walk.items(page)
            query[walk.param] = walk.cursor(page)
            if query[walk.param] is None:
                return

    method.__doc__ = f"Every item of every page of ``{build.__name__}``, fetched page by page."
    return method


def _every_async(
    build: Callable[P, Op[PageT]], walk: _Walk[PageT, ItemT]
) -> Callable[Concatenate[_SendsAsync, P], AsyncIterator[ItemT]]:
    async def method(self: _SendsAsync, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[ItemT]:
        query: dict[str, Any] = dict(kwargs)
        while True:
            page = await self.send(build(*args, **query))
            for item in walk.items(page):
                yield item
            query[walk.param] = walk.cursor(page)
            if query[walk.param] is None:
                return

    method.__doc__ = f"Every item of every page of ``{build.__name__}``, fetched page by page."
    return method


class _Config:
    """Connection settings both clients take; the API key and URL default to the
    ``RELAY_API_KEY`` and ``RELAY_BASE_URL`` environment variables."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        if api_key is None and token is None:
            api_key = os.environ.get("RELAY_API_KEY")
        self.base_url = (base_url or os.environ.get("RELAY_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.token = token
        self.retry = retry or RetryPolicy()
        self._client_args: dict[str, Any] = {
            "base_url": self.base_url,
            "headers": headers(api_key, token),
            "timeout": timeout,
        }


class Relay(_Config):
    """The synchronous client. ``with Relay(api_key, base_url=...) as relay: relay.trigger(...)``."""

    def __init__(self, api_key: str | None = None, **options: Any) -> None:
        super().__init__(api_key, **options)
        self._http = httpx.Client(**self._client_args)

    def send(self, op: Op[T]) -> T:
        """Send one request, retrying it unchanged as the retry policy allows."""
        attempt = 0
        while True:
            try:
                outcome: httpx.Response | httpx.TransportError = self._http.request(
                    op.method, op.path, params=op.params or None, json=op.json
                )
            except httpx.TransportError as error:
                outcome = error
            step = settle(outcome, op.idempotent, attempt, self.retry)
            if isinstance(step, Done):
                return op.parse(step.body)
            time.sleep(step)
            attempt += 1

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    trigger = _sent(_ops.trigger)
    trigger_batch = _sent(_ops.trigger_batch)
    get_event = _sent(_ops.get_event)
    identify = _sent(_ops.identify)
    get_subscriber = _sent(_ops.get_subscriber)
    delete_subscriber = _sent(_ops.delete_subscriber)
    subscriber_token = _sent(_ops.subscriber_token)
    preferences = _sent(_ops.preferences)
    create_preference = _sent(_ops.create_preference)
    update_preference = _sent(_ops.update_preference)
    delete_preference = _sent(_ops.delete_preference)
    put_topic = _sent(_ops.put_topic)
    get_topic = _sent(_ops.get_topic)
    delete_topic = _sent(_ops.delete_topic)
    topic_members = _sent(_ops.topic_members)
    iter_topic_members = _every(_ops.topic_members, MEMBERS)
    add_topic_members = _sent(_ops.add_topic_members)
    remove_topic_members = _sent(_ops.remove_topic_members)
    deliveries = _sent(_ops.deliveries)
    iter_deliveries = _every(_ops.deliveries, DELIVERIES)
    get_delivery = _sent(_ops.get_delivery)
    delivery_stats = _sent(_ops.delivery_stats)
    workflows = _sent(_ops.workflows)
    get_workflow = _sent(_ops.get_workflow)
    put_workflow = _sent(_ops.put_workflow)
    delete_workflow = _sent(_ops.delete_workflow)
    cancel = _sent(_ops.cancel)
    dry_run = _sent(_ops.dry_run)
    inbox = _sent(_ops.inbox)
    iter_inbox = _every(_ops.inbox, INBOX)
    mark_read = _sent(_ops.mark_read)
    mark_seen = _sent(_ops.mark_seen)
    archive = _sent(_ops.archive)
    mark_all_read = _sent(_ops.mark_all_read)
    inbox_counts = _sent(_ops.inbox_counts)
    inbox_bulk = _sent(_ops.inbox_bulk)


class AsyncRelay(_Config):
    """The asyncio client: ``Relay``'s methods, awaited, plus ``inbox_socket``."""

    def __init__(self, api_key: str | None = None, **options: Any) -> None:
        super().__init__(api_key, **options)
        self._http = httpx.AsyncClient(**self._client_args)

    async def send(self, op: Op[T]) -> T:
        """Send one request, retrying it unchanged as the retry policy allows."""
        attempt = 0
        while True:
            try:
                outcome: httpx.Response | httpx.TransportError = await self._http.request(
                    op.method, op.path, params=op.params or None, json=op.json
                )
            except httpx.TransportError as error:
                outcome = error
            step = settle(outcome, op.idempotent, attempt, self.retry)
            if isinstance(step, Done):
                return op.parse(step.body)
            await asyncio.sleep(step)
            attempt += 1

    def inbox_socket(self, token: str | None = None) -> InboxSocket:
        """The live inbox of the subscriber a token names (this client's token by default):
        ``async with relay.inbox_socket(token) as socket: async for event in socket: ...``."""
        token = token or self.token
        if not token:
            raise ValueError("The inbox socket needs a subscriber token (see subscriber_token()).")
        return InboxSocket(self.base_url, token)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    trigger = _sent_async(_ops.trigger)
    trigger_batch = _sent_async(_ops.trigger_batch)
    get_event = _sent_async(_ops.get_event)
    identify = _sent_async(_ops.identify)
    get_subscriber = _sent_async(_ops.get_subscriber)
    delete_subscriber = _sent_async(_ops.delete_subscriber)
    subscriber_token = _sent_async(_ops.subscriber_token)
    preferences = _sent_async(_ops.preferences)
    create_preference = _sent_async(_ops.create_preference)
    update_preference = _sent_async(_ops.update_preference)
    delete_preference = _sent_async(_ops.delete_preference)
    put_topic = _sent_async(_ops.put_topic)
    get_topic = _sent_async(_ops.get_topic)
    delete_topic = _sent_async(_ops.delete_topic)
    topic_members = _sent_async(_ops.topic_members)
    iter_topic_members = _every_async(_ops.topic_members, MEMBERS)
    add_topic_members = _sent_async(_ops.add_topic_members)
    remove_topic_members = _sent_async(_ops.remove_topic_members)
    deliveries = _sent_async(_ops.deliveries)
    iter_deliveries = _every_async(_ops.deliveries, DELIVERIES)
    get_delivery = _sent_async(_ops.get_delivery)
    delivery_stats = _sent_async(_ops.delivery_stats)
    workflows = _sent_async(_ops.workflows)
    get_workflow = _sent_async(_ops.get_workflow)
    put_workflow = _sent_async(_ops.put_workflow)
    delete_workflow = _sent_async(_ops.delete_workflow)
    cancel = _sent_async(_ops.cancel)
    dry_run = _sent_async(_ops.dry_run)
    inbox = _sent_async(_ops.inbox)
    iter_inbox = _every_async(_ops.inbox, INBOX)
    mark_read = _sent_async(_ops.mark_read)
    mark_seen = _sent_async(_ops.mark_seen)
    archive = _sent_async(_ops.archive)
    mark_all_read = _sent_async(_ops.mark_all_read)
    inbox_counts = _sent_async(_ops.inbox_counts)
    inbox_bulk = _sent_async(_ops.inbox_bulk)
