"""The live in-app feed: one WebSocket per open tab, joined to its subscriber's group.

Server to client: ``hello`` (counts and the latest page) on connect, ``notification`` for
each new message (and each snoozed one that comes back, with ``"resurfaced": true``),
``counts`` after every state change made from any tab or the API, and ``error`` for a client
message it could not carry out (``rate_limited``, with ``retryAfter`` seconds, when a socket
sends actions faster than ``RELAY_SOCKET_ACTION_RATE``). Client to server: ``mark_read``,
``mark_seen``, ``archive``, ``unsnooze`` (each with ``id`` or ``ids``), ``snooze`` (the same,
with ``until`` or ``duration``), ``mark_all_read`` and ``ping``.
The protocol is written up in README.md ("In-app inbox").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import orjson
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from core import metrics
from notifications.subscriber_tokens import seconds_left, subscriber_from_token
from realtime import selectors, services, snooze
from realtime.groups import inbox_group, message_payload
from realtime.serializers import SnoozeSerializer
from realtime.throttle import TokenBucket

CLOSE_UNAUTHORIZED = 4401
TOKEN_PROTOCOL_PREFIX = "token."
INVALID = object()
MAX_ID = 2**63  # ids are bigints; a larger number is malformed, not merely unknown
# Client messages that name messages by ``id`` or ``ids``, and what each calls.
ACTIONS_ON_IDS = {**services.ACTIONS_ON_IDS, "unsnooze": snooze.unsnooze}


class InboxConsumer(AsyncJsonWebsocketConsumer):
    """A small class whose methods are the protocol's events."""

    subscriber_id: int | None = None
    group: str = ""
    expiry: asyncio.Task[None] | None = None
    bucket: TokenBucket

    def _token(self) -> tuple[str | None, str | None]:
        """The token from ``?token=`` or a ``token.<token>`` subprotocol (browsers cannot set headers)."""
        query = parse_qs(self.scope.get("query_string", b"").decode())
        if query.get("token"):
            return query["token"][0], None
        for protocol in self.scope.get("subprotocols", []):
            if protocol.startswith(TOKEN_PROTOCOL_PREFIX):
                return protocol[len(TOKEN_PROTOCOL_PREFIX) :], protocol
        return None, None

    async def connect(self) -> None:
        token, protocol = self._token()
        subscriber = await database_sync_to_async(subscriber_from_token)(token) if token else None
        # Accept before closing: a close before accept is an HTTP 403 to the browser, and
        # the client could not tell a bad token from a server that is down.
        await self.accept(subprotocol=protocol)
        if token is None or subscriber is None:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.subscriber_id = subscriber.pk
        self.bucket = TokenBucket(settings.RELAY_SOCKET_ACTION_RATE, settings.RELAY_SOCKET_ACTION_BURST)
        self.group = inbox_group(subscriber.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        metrics.ACTIVE_WEBSOCKETS.inc()
        self.expiry = asyncio.create_task(self._close_when_expired(seconds_left(token)))
        await self.send_json({"type": "hello", "userId": subscriber.user_id, **await self._snapshot()})

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' ``dispatch`` without its ``close_old_connections`` before every handler:
        that is a hop to its one thread-sensitive thread for every frame and every push,
        which the pushes (most of the traffic) do not need, and every handler here that uses
        the database goes through ``database_sync_to_async``, which checks the connections
        itself in the thread it runs in."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def _close_when_expired(self, delay: float) -> None:
        """A token authorises a socket only as long as it would authorise a new one."""
        await asyncio.sleep(max(0.0, delay))
        await self.close(code=CLOSE_UNAUTHORIZED)

    async def disconnect(self, code: int) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.expiry
        if self.group:
            metrics.ACTIVE_WEBSOCKETS.dec()
            await self.channel_layer.group_discard(self.group, self.channel_name)

    @database_sync_to_async
    def _snapshot(self) -> dict[str, Any]:
        assert self.subscriber_id is not None
        return {
            **selectors.inbox_counts(self.subscriber_id),
            "messages": [message_payload(m) for m in selectors.latest_messages(self.subscriber_id)],
        }

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return orjson.loads(text_data)
        except orjson.JSONDecodeError:
            return INVALID

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """A client message: carry it out; the resulting ``counts`` reach every tab via the group."""
        if self.subscriber_id is None:
            return
        if not isinstance(content, dict):
            await self._error("invalid_json", None)
            return
        kind, request_id = content.get("type"), content.get("requestId")
        if kind == "ping":
            await self.send_json({"type": "pong", "requestId": request_id})
            return
        if kind == "mark_all_read":
            if await self._allowed(request_id):
                await database_sync_to_async(services.mark_all_read)(self.subscriber_id)
            return
        if kind == "snooze":
            await self._snooze(content, request_id)
            return
        action = ACTIONS_ON_IDS.get(kind) if isinstance(kind, str) else None
        if action is None:
            await self._error("unknown_type", request_id)
            return
        ids = _ids_of(content)
        if not ids:
            await self._error("invalid_ids", request_id)
            return
        if await self._allowed(request_id):
            await self._carry_out(request_id, action, self.subscriber_id, ids)

    async def _snooze(self, content: dict[str, Any], request_id: Any) -> None:
        """``snooze`` with ``id``/``ids`` and ``until`` or ``duration``, checked as the API checks them."""
        ids = _ids_of(content)
        if not ids:
            await self._error("invalid_ids", request_id)
            return
        body = SnoozeSerializer(data={k: content[k] for k in ("until", "duration") if k in content})
        if not body.is_valid():
            errors = {field: [str(m) for m in messages] for field, messages in body.errors.items()}
            await self.send_json(
                {"type": "error", "error": "invalid_snooze", "requestId": request_id, "errors": errors}
            )
            return
        if await self._allowed(request_id):
            await self._carry_out(
                request_id, snooze.snooze, self.subscriber_id, ids, body.validated_data["until"]
            )

    async def _carry_out(self, request_id: Any, action: Callable[..., Any], *args: Any) -> None:
        """Run a state change; ``not_found`` when none of the ids is this subscriber's."""
        try:
            await database_sync_to_async(action)(*args)
        except services.MessageNotFound:
            await self._error("not_found", request_id)
        except snooze.NotSnoozable:
            await self._error("archived", request_id)

    async def _allowed(self, request_id: Any) -> bool:
        """Take a token for an action that reaches the database, or answer ``rate_limited``."""
        wait = self.bucket.take()
        if wait:
            refusal = {"type": "error", "error": "rate_limited", "requestId": request_id}
            await self.send_json({**refusal, "retryAfter": round(wait, 2)})
        return not wait

    async def _error(self, error: str, request_id: Any) -> None:
        await self.send_json({"type": "error", "error": error, "requestId": request_id})

    async def inbox_notification(self, event: dict[str, Any]) -> None:
        """Group message from the in-app worker (a new message) or the scheduler (a snoozed one
        back, ``resurfaced``): forward the message with fresh counts."""
        pushed = {"type": "notification", "message": event["message"], **event["counts"]}
        if event.get("resurfaced"):
            pushed["resurfaced"] = True
        await self.send_json(pushed)

    async def inbox_counts(self, event: dict[str, Any]) -> None:
        """Group message from a state change in any tab or the API: new counts and what changed."""
        await self.send_json({"type": "counts", **event["counts"], "change": event["change"]})

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return orjson.dumps(content).decode()


def _ids_of(content: dict[str, Any]) -> list[int]:
    """``id`` (one) or ``ids`` (up to 100) as positive 64-bit integers; empty when malformed."""
    raw = content.get("ids", [content["id"]] if "id" in content else [])
    if not isinstance(raw, list) or len(raw) > services.MAX_IDS:
        return []
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < MAX_ID for i in raw):
        return []
    return raw
