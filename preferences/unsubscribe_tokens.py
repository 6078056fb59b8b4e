"""One-click unsubscribe tokens: signed, naming a subscriber, a channel and an event type.

They travel in every email's List-Unsubscribe header and footer link, so they carry no
expiry: an unsubscribe link in a two-year-old email must still work. Only the server
secret can mint one, and one turns off exactly one (channel, event type) preference.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "relay.unsubscribe"


@dataclass(frozen=True)
class UnsubscribeClaim:
    subscriber_id: int
    channel: str
    event_type: str


def mint_unsubscribe_token(subscriber_id: int, channel: str, event_type: str) -> str:
    return signing.dumps({"s": subscriber_id, "c": channel, "e": event_type}, salt=SALT, compress=True)


def read_unsubscribe_token(token: str) -> UnsubscribeClaim | None:
    """The claim, or None for a tampered or malformed token."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    sid, channel, event_type = payload.get("s"), payload.get("c"), payload.get("e")
    if not (isinstance(sid, int) and isinstance(channel, str) and isinstance(event_type, str)):
        return None
    return UnsubscribeClaim(sid, channel, event_type)


def unsubscribe_url(subscriber_id: int, channel: str, event_type: str) -> str:
    """The absolute, public one-click URL (RFC 8058) for the List-Unsubscribe header."""
    token = mint_unsubscribe_token(subscriber_id, channel, event_type)
    return settings.RELAY_PUBLIC_URL + reverse("unsubscribe", args=[token])
