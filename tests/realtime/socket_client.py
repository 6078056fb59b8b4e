"""A thin WebSocket client for the inbox protocol, for tests that speak it over a real socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection


class InboxSocket:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.connection.recv(), timeout))

    async def receive_type(self, kind: str, timeout: float = 20) -> dict[str, Any]:
        """The next message of one type; other types before it (e.g. counts) are skipped."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            message = await self.receive(max(0.1, deadline - asyncio.get_running_loop().time()))
            if message["type"] == kind:
                return message

    async def send(self, **message: Any) -> None:
        await self.connection.send(json.dumps(message))

    async def next_after_ping(self) -> dict[str, Any]:
        """What arrives before our own pong: proof that nothing else was queued for this socket."""
        await self.send(type="ping", requestId="fence")
        return await self.receive()


@asynccontextmanager
async def inbox_socket(server: str, token: str, via: str = "query") -> AsyncIterator[InboxSocket]:
    if via == "query":
        connection = await websockets.connect(f"ws://{server}/ws/inbox/?token={token}")
    else:
        connection = await websockets.connect(f"ws://{server}/ws/inbox/", subprotocols=[f"token.{token}"])
    try:
        yield InboxSocket(connection)
    finally:
        await connection.close()
