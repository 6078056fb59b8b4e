"""Standard Webhooks signatures (https://www.standardwebhooks.com/), for any signed POST.

``webhook-signature`` is ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, keyed with
the bytes a ``whsec_<base64>`` secret encodes. During a secret rotation several secrets are
valid at once and every one signs, the signatures separated by spaces, so a receiver holding
either secret verifies the message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_<base64>`` secret; ValueError for anything else."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("A webhook secret starts with 'whsec_' followed by base64.")
    try:
        encoded = secret.removeprefix(SECRET_PREFIX)
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError as error:
        raise ValueError("The part of a webhook secret after 'whsec_' must be base64.") from error


def parse_secrets(value: str) -> list[str]:
    """Secrets from one setting: separated by spaces or commas (several during a rotation)."""
    return [part for part in value.replace(",", " ").split() if part]


def sign(msg_id: str, timestamp: int, body: bytes, secrets: Iterable[str]) -> str:
    """The ``webhook-signature`` header value: one ``v1,<signature>`` per secret."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    signatures = [
        "v1," + base64.b64encode(hmac.new(secret_key(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets
    ]
    if not signatures:
        raise ValueError("At least one webhook secret is needed to sign.")
    return " ".join(signatures)


def headers(msg_id: str, timestamp: int, body: bytes, secrets: Iterable[str]) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(msg_id, timestamp, body, secrets),
    }
