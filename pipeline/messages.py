"""What travels on the work subjects: ids only; the database holds the state."""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from nats.aio.msg import Msg

log = structlog.get_logger(__name__)


def decode(msg: Msg) -> dict[str, Any] | None:
    """The JSON object in a message, or None for a payload no stage can use."""
    try:
        value = orjson.loads(msg.data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def encode(value: dict[str, Any]) -> bytes:
    return orjson.dumps(value)


async def ids_of(batch: list[Msg], key: str, unreadable: str) -> tuple[list[int], list[Msg]]:
    """The integer ``key`` of each message, and the messages that had one. A message without
    one can never be handled: it is logged (as ``unreadable``) and terminated, not redelivered."""
    ids: list[int] = []
    readable: list[Msg] = []
    for msg in batch:
        payload = decode(msg)
        value = payload.get(key) if payload is not None else None
        if not isinstance(value, int) or isinstance(value, bool):
            log.error(unreadable, subject=msg.subject)
            await msg.term()
            continue
        ids.append(value)
        readable.append(msg)
    return ids, readable
