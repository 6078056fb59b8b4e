"""What travels on the work subjects: ids only; the database holds the state."""

from __future__ import annotations

from typing import Any

import orjson
from nats.aio.msg import Msg


def decode(msg: Msg) -> dict[str, Any] | None:
    """The JSON object in a message, or None for a payload no stage can use."""
    try:
        value = orjson.loads(msg.data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def encode(value: dict[str, Any]) -> bytes:
    return orjson.dumps(value)
