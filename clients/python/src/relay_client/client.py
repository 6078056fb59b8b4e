"""``Relay`` (sync) and ``AsyncRelay`` (async): the same methods, built from ``_ops``.

Each method is an ``_ops`` builder declared once (``_Methods``) and bound, by a descriptor,
to the client's way of sending, so the signatures, docstrings and request shapes exist once
and are typed for each client (``relay.trigger`` is ``_ops.trigger`` sent).
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, ParamSpec, Self, TypeVar, overload
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


@dataclass(frozen=True)
class _Walk(Generic[PageT, ItemT]):
    """How one paginated listing goes on: its items, the next page's cursor, and the
    parameter that cursor is passed back as."""

    items: Callable[[PageT], list[ItemT]]
    cursor: Callable[[PageT], Any]
    param: str


def _link_cursor(page: models.DeliveryPage | models.EventPage | models.WebhookMessagePage) -> str | None:
    """The ``cursor`` of the page's ``next`` link, sent again on this client's own base URL
    (a proxy in front of Relay may make the server's idea of its URL a different one)."""
    if not page["next"]:
        return None
    return parse_qs(urlsplit(page["next"]).query).get("cursor", [None])[0]


INBOX = _Walk[models.InboxPage, models.InboxMessage](
    lambda p: p["messages"], lambda p: p["nextCursor"], "cursor"
)
DELIVERIES = _Walk[models.DeliveryPage, models.Delivery](lambda p: p["results"], _link_cursor, "cursor")
EVENTS = _Walk[models.EventPage, models.EventActivity](lambda p: p["results"], _link_cursor, "cursor")
WEBHOOK_MESSAGES = _Walk[models.WebhookMessagePage, models.WebhookMessage](
    lambda p: p["results"], _link_cursor, "cursor"
)
MEMBERS = _Walk[models.TopicMembersPage, str](lambda p: p["userIds"], lambda p: p["next"], "after")


class _Call(Generic[P, T]):
    """A method of both clients: the ``_ops`` builder's request, sent as the client sends
    (``Relay`` answers, ``AsyncRelay`` gives an awaitable of the answer)."""

    def __init__(self, build: Callable[P, Op[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, client: None, owner: type) -> Self: ...
    @overload
    def __get__(self, client: Relay, owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, client: AsyncRelay, owner: type) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, client: Relay | AsyncRelay | None, owner: type) -> Any:
        if client is None:
            return self
        build, send = self.build, client.send

        @functools.wraps(build)
        def call(*args: P.args, **kwargs: P.kwargs) -> Any:
            return send(build(*args, **kwargs))

        return call


class _Pages(Generic[P, PageT, ItemT]):
    """A method of both clients that walks every page of a listing, item by item: an
    iterator on ``Relay``, an async iterator on ``AsyncRelay``."""

    def __init__(self, build: Callable[P, Op[PageT]], walk: _Walk[PageT, ItemT]) -> None:
        self.build, self.walk = build, walk
        self.__doc__ = f"Every item of every page of ``{build.__name__}``, fetched page by page."

    @overload
    def __get__(self, client: None, owner: type) -> Self: ...
    @overload
    def __get__(self, client: Relay, owner: type) -> Callable[P, Iterator[ItemT]]: ...
    @overload
    def __get__(self, client: AsyncRelay, owner: type) -> Callable[P, AsyncIterator[ItemT]]: ...
    def __get__(self, client: Relay | AsyncRelay | None, owner: type) -> Any:
        if client is None:
            return self
        if isinstance(client, AsyncRelay):
            return functools.partial(self._items_async, client)
        return functools.partial(self._items, client)

    def _items(self, client: Relay, *args: Any, **kwargs: Any) -> Iterator[ItemT]:
        while True:
            page = client.send(self.build(*args, **kwargs))
            yield from self.walk.items(page)
            kwargs[self.walk.param] = self.walk.cursor(page)
            if kwargs[self.walk.param] is None:
                return

    async def _items_async(self, client: AsyncRelay, *args: Any, **kwargs: Any) -> AsyncIterator[ItemT]:
        while True:
            page = await client.send(self.build(*args, **kwargs))
            for item in self.walk.items(page):
                yield item
            kwargs[self.walk.param] = self.walk.cursor(page)
            if kwargs[self.walk.param] is None:
                return


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


class _Methods(_Config):
    """The API's calls, declared once for both clients (see ``_Call`` and ``_Pages``)."""

    trigger = _Call(_ops.trigger)
    trigger_batch = _Call(_ops.trigger_batch)
    get_event = _Call(_ops.get_event)
    events = _Call(_ops.events)
    iter_events = _Pages(_ops.events, EVENTS)
    identify = _Call(_ops.identify)
    get_subscriber = _Call(_ops.get_subscriber)
    delete_subscriber = _Call(_ops.delete_subscriber)
    subscriber_token = _Call(_ops.subscriber_token)
    preferences = _Call(_ops.preferences)
    create_preference = _Call(_ops.create_preference)
    update_preference = _Call(_ops.update_preference)
    delete_preference = _Call(_ops.delete_preference)
    put_topic = _Call(_ops.put_topic)
    get_topic = _Call(_ops.get_topic)
    delete_topic = _Call(_ops.delete_topic)
    topic_members = _Call(_ops.topic_members)
    iter_topic_members = _Pages(_ops.topic_members, MEMBERS)
    add_topic_members = _Call(_ops.add_topic_members)
    remove_topic_members = _Call(_ops.remove_topic_members)
    deliveries = _Call(_ops.deliveries)
    iter_deliveries = _Pages(_ops.deliveries, DELIVERIES)
    get_delivery = _Call(_ops.get_delivery)
    delivery_stats = _Call(_ops.delivery_stats)
    workflows = _Call(_ops.workflows)
    get_workflow = _Call(_ops.get_workflow)
    put_workflow = _Call(_ops.put_workflow)
    delete_workflow = _Call(_ops.delete_workflow)
    cancel = _Call(_ops.cancel)
    dry_run = _Call(_ops.dry_run)
    inbox = _Call(_ops.inbox)
    iter_inbox = _Pages(_ops.inbox, INBOX)
    mark_read = _Call(_ops.mark_read)
    mark_seen = _Call(_ops.mark_seen)
    archive = _Call(_ops.archive)
    snooze = _Call(_ops.snooze)
    unsnooze = _Call(_ops.unsnooze)
    complete_action = _Call(_ops.complete_action)
    mark_all_read = _Call(_ops.mark_all_read)
    inbox_counts = _Call(_ops.inbox_counts)
    inbox_bulk = _Call(_ops.inbox_bulk)
    create_webhook_endpoint = _Call(_ops.create_webhook_endpoint)
    webhook_endpoints = _Call(_ops.webhook_endpoints)
    get_webhook_endpoint = _Call(_ops.get_webhook_endpoint)
    update_webhook_endpoint = _Call(_ops.update_webhook_endpoint)
    delete_webhook_endpoint = _Call(_ops.delete_webhook_endpoint)
    rotate_webhook_secret = _Call(_ops.rotate_webhook_secret)
    webhook_messages = _Call(_ops.webhook_messages)
    iter_webhook_messages = _Pages(_ops.webhook_messages, WEBHOOK_MESSAGES)
    replay_webhook_message = _Call(_ops.replay_webhook_message)
    replay_failed_webhook_messages = _Call(_ops.replay_failed_webhook_messages)


class Relay(_Methods):
    """The synchronous client. ``with Relay(api_key, base_url=...) as relay: relay.trigger(...)``."""

    @functools.cached_property
    def _http(self) -> httpx.Client:
        return httpx.Client(**self._client_args)

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


class AsyncRelay(_Methods):
    """The asyncio client: ``Relay``'s methods, awaited, plus ``inbox_socket``."""

    @functools.cached_property
    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self._client_args)

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
