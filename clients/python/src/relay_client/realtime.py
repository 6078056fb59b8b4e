"""The live inbox over ``/ws/inbox/`` as an async iterator of frames (README, WebSocket protocol).

The token travels as the ``token.<token>`` subprotocol rather than in ``?token=``, which
the server takes alike, so it stays out of URLs and access logs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self, cast

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from relay_client import models
from relay_client.errors import RelayError, Unauthorized

CLOSE_UNAUTHORIZED = 4401


def socket_url(base_url: str) -> str:
    """``http(s)://host`` → ``ws(s)://host/ws/inbox/``."""
    scheme, _, rest = base_url.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest.rstrip('/')}/ws/inbox/"


class InboxSocket:
    """``async with InboxSocket(base_url, token) as socket: async for event in socket``.

    The first frame is ``hello`` (counts and the latest page), then ``notification`` (with
    ``resurfaced`` when a snoozed message is due), ``counts``, ``pong`` and ``error`` frames
    as they come. Iteration ends when the server
    closes the socket; a close for a bad or expired token (4401) raises ``Unauthorized``:
    mint a fresh token and open a new socket.
    """

    def __init__(self, base_url: str, token: str, open_timeout: float = 10.0) -> None:
        self.url = socket_url(base_url)
        self._token = token
        self._open_timeout = open_timeout
        self._connection: ClientConnection | None = None

    async def __aenter__(self) -> Self:
        self._connection = await connect(
            self.url,
            subprotocols=[Subprotocol(f"token.{self._token}")],
            open_timeout=self._open_timeout,
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._connection is not None:
            await self._connection.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> models.SocketEvent:
        try:
            frame = await self._open().recv()
        except ConnectionClosed as closed:
            if closed.rcvd is not None and closed.rcvd.code == CLOSE_UNAUTHORIZED:
                raise Unauthorized("The subscriber token is missing, invalid or expired.", 401) from None
            raise StopAsyncIteration from None
        return cast(models.SocketEvent, json.loads(frame))

    async def send(self, kind: str, **fields: Any) -> None:
        """One client frame, e.g. ``send("ping", requestId=1)``."""
        await self._open().send(json.dumps({"type": kind, **fields}))

    async def mark_read(self, ids: Sequence[int]) -> None:
        await self.send("mark_read", ids=list(ids))

    async def mark_seen(self, ids: Sequence[int]) -> None:
        await self.send("mark_seen", ids=list(ids))

    async def archive(self, ids: Sequence[int]) -> None:
        await self.send("archive", ids=list(ids))

    async def unsnooze(self, ids: Sequence[int]) -> None:
        await self.send("unsnooze", ids=list(ids))

    async def snooze(
        self, message_id: int, *, until: str | None = None, duration: float | str | None = None
    ) -> None:
        """Snooze one message (``until`` ISO 8601, or ``duration``); a refusal comes back as
        an ``error`` frame, ``invalid_snooze`` with ``errors``."""
        fields = {"until": until, "duration": duration}
        await self.send("snooze", id=message_id, **{k: v for k, v in fields.items() if v is not None})

    async def mark_all_read(self) -> None:
        await self.send("mark_all_read")

    def _open(self) -> ClientConnection:
        if self._connection is None:
            raise RelayError("Use the socket inside 'async with'.")
        return self._connection
