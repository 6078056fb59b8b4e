"""Verify Standard Webhooks signatures (https://www.standardwebhooks.com/), as Relay signs
its webhook channel and its outbound status webhooks.

``webhook-signature`` holds one or more space-separated ``v1,<base64 HMAC-SHA256>`` of
``"<webhook-id>.<webhook-timestamp>.<raw body>"``, keyed with the bytes of a
``whsec_<base64>`` secret. During a secret rotation several signatures come; one valid
signature is enough. The timestamp must be recent, so a captured request cannot be
replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from relay_client.errors import RelayError

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300


class WebhookVerificationError(RelayError):
    """The request is not a webhook signed with this secret (or is too old or new)."""


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as error:
        raise ValueError("A webhook secret is 'whsec_' followed by base64.") from error


class WebhookVerifier:
    """``WebhookVerifier(secret).verify(body, headers)`` returns the decoded payload or raises.

    Give several secrets (a list) while you rotate yours: a signature by any of them passes.
    """

    def __init__(self, secret: str | Iterable[str], tolerance: int = DEFAULT_TOLERANCE) -> None:
        secrets = [secret] if isinstance(secret, str) else list(secret)
        if not secrets:
            raise ValueError("At least one webhook secret is needed.")
        self._keys = [_key(s) for s in secrets]
        self.tolerance = tolerance

    def verify(self, body: bytes | str, headers: Mapping[str, str], now: float | None = None) -> Any:
        """The JSON payload of a request whose headers sign ``body`` (the raw bytes received)."""
        raw = body.encode() if isinstance(body, str) else body
        lowered = {name.lower(): value for name, value in headers.items()}
        try:
            msg_id = lowered["webhook-id"]
            stamp = lowered["webhook-timestamp"]
            signatures = lowered["webhook-signature"]
        except KeyError as missing:
            raise WebhookVerificationError(f"Missing header {missing.args[0]}.") from None
        try:
            timestamp = int(stamp)
        except ValueError:
            raise WebhookVerificationError("webhook-timestamp is not a number of seconds.") from None
        current = time.time() if now is None else now
        if abs(current - timestamp) > self.tolerance:
            raise WebhookVerificationError("webhook-timestamp is outside the tolerance.")
        signed = f"{msg_id}.{timestamp}.".encode() + raw
        expected = [
            base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode() for key in self._keys
        ]
        for candidate in signatures.split():
            version, _, signature = candidate.partition(",")
            if version == "v1" and any(hmac.compare_digest(signature, e) for e in expected):
                return json.loads(raw)
        raise WebhookVerificationError("No signature matches.")


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Iterable[str],
    tolerance: int = DEFAULT_TOLERANCE,
) -> Any:
    """``WebhookVerifier(secret, tolerance).verify(body, headers)`` in one call."""
    return WebhookVerifier(secret, tolerance).verify(body, headers)
