"""Why a delivery is where it is: one vocabulary for routing decisions, outcomes and the timeline.

Stored as plain strings (no ``choices=`` on the columns), so a new channel or provider that
needs a new reason adds a member here and no migration. README "Delivery reasons" says what
each one means (a test keeps that table and this enum the same).
"""

from __future__ import annotations

from django.db import models


class Reason(models.TextChoices):
    NONE = ""
    # Routing decisions (preferences/engine.py rules, in their order)
    OPTED_OUT = "opted_out"
    CHANNEL_OPTED_OUT = "channel_opted_out"
    EVENT_TYPE_OPTED_OUT = "event_type_opted_out"
    DISABLED_BY_DEFAULT = "disabled_by_default"
    NO_ADDRESS = "no_address"
    DUPLICATE = "duplicate"
    RATE_LIMITED = "rate_limited"
    QUIET_HOURS = "quiet_hours"
    SCHEDULED = "scheduled"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    PROVIDER_NOT_CONFIGURED = "provider_not_configured"
    TEMPLATE_ERROR = "template_error"
    # Outcomes of sending
    DUE = "due"
    REDISPATCHED = "redispatched"
    TRANSIENT_ERROR = "transient_error"
    CIRCUIT_OPEN = "circuit_open"
    PROVIDER_REJECTED = "provider_rejected"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    INVALID_ADDRESS = "invalid_address"
    ADDRESS_GONE = "address_gone"
    REPLAYED = "replayed"
    REPLAY_UNPUBLISHED = "replay_unpublished"
    # Provider status callbacks
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    UNDELIVERED = "undelivered"


def as_reason(value: str) -> str:
    """A reason a provider or rule gave, as a member; anything unknown is a provider rejection."""
    try:
        return Reason(value)
    except ValueError:
        return Reason.PROVIDER_REJECTED
