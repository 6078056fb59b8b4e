"""Subscriber tokens: signed with the server secret, expiring, naming one subscriber.

The client app's backend mints them through the API and hands them to its front end, so the
browser can read its own inbox and preferences without ever holding an API key.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core import signing

from notifications.models import Subscriber

SALT = "relay.subscriber-token"


def _signer() -> signing.TimestampSigner:
    # "." rather than Django's ":" between the parts makes the token a valid HTTP token, so a
    # browser can send it as the WebSocket subprotocol ``token.<token>`` (":" is refused there).
    return signing.TimestampSigner(salt=SALT, sep=".")


def mint_subscriber_token(subscriber: Subscriber) -> str:
    return _signer().sign_object({"sid": subscriber.pk, "uid": subscriber.user_id}, compress=True)


def _payload(token: str) -> dict[str, Any] | None:
    try:
        payload = _signer().unsign_object(token, max_age=settings.RELAY_SUBSCRIBER_TOKEN_MAX_AGE)
    except (signing.BadSignature, ValueError):  # BadSignature covers SignatureExpired
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("sid"), int):
        return None
    return payload


def subscriber_id_from_token(token: str) -> int | None:
    """The subscriber's primary key, or None for a bad, tampered or expired token."""
    payload = _payload(token)
    return payload["sid"] if payload else None


def subscriber_from_token(token: str) -> Subscriber | None:
    """The token's subscriber if it still exists; None for a bad token or a deleted subscriber."""
    payload = _payload(token)
    if payload is None:
        return None
    # The user id must match too, so a token never outlives the subscriber it was minted for.
    return Subscriber.objects.filter(pk=payload["sid"], user_id=payload.get("uid")).first()


def seconds_left(token: str) -> float:
    """How long a token that verified stays valid: its timestamp plus the maximum age, from now."""
    stamp = signing.b62_decode(token.rsplit(".", 2)[1])
    return stamp + settings.RELAY_SUBSCRIBER_TOKEN_MAX_AGE - time.time()
