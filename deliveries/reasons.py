"""Why a delivery is where it is: one vocabulary for routing decisions, outcomes and the timeline.

Stored as plain strings (no ``choices=`` on the columns), so a new channel or provider that
needs a new reason adds a member here and no migration. README "Delivery reasons" lists them.
"""

from __future__ import annotations

from django.db import models


class Reason(models.TextChoices):
    NONE = "", "—"
    # Routing decisions (preferences/engine.py rules, in their order)
    OPTED_OUT = "opted_out", "The subscriber opted out of everything"
    CHANNEL_OPTED_OUT = "channel_opted_out", "The subscriber opted out of this channel"
    EVENT_TYPE_OPTED_OUT = "event_type_opted_out", "The subscriber opted out of this event type"
    DISABLED_BY_DEFAULT = "disabled_by_default", "The event type is off by default on this channel"
    NO_ADDRESS = "no_address", "The subscriber has no address (or device) for this channel"
    DUPLICATE = "duplicate", "Decided before (a replayed message)"
    RATE_LIMITED = "rate_limited", "Over the channel's rate limit"
    QUIET_HOURS = "quiet_hours", "Inside the subscriber's quiet hours"
    SCHEDULED = "scheduled", "Waits for the event's scheduledAt"
    EXPIRED = "expired", "The event's expiresAt passed before it was sent"
    PROVIDER_NOT_CONFIGURED = "provider_not_configured", "No provider is configured for the channel"
    TEMPLATE_ERROR = "template_error", "The template did not render"
    # Outcomes of sending
    DUE = "due", "The wait is over; queued for sending"
    REDISPATCHED = "redispatched", "Queued again after being stranded"
    TRANSIENT_ERROR = "transient_error", "The provider failed transiently; retrying"
    CIRCUIT_OPEN = "circuit_open", "Every provider's circuit breaker is open; waiting"
    PROVIDER_REJECTED = "provider_rejected", "The provider refused the message for good"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted", "Every attempt failed transiently"
    INVALID_ADDRESS = "invalid_address", "The provider says the address cannot be used"
    ADDRESS_GONE = "address_gone", "The receiver said the address is gone (disabled)"
    REPLAYED = "replayed", "Replayed from the dead letters"
    REPLAY_UNPUBLISHED = "replay_unpublished", "A replay could not be published; still failed"
    # Provider status callbacks
    DELIVERED = "delivered", "The provider reports it delivered"
    BOUNCED = "bounced", "The provider reports a bounce"
    UNDELIVERED = "undelivered", "The provider reports it failed after accepting it"


def as_reason(value: str) -> Reason:
    """A reason a provider or rule gave, as a member; anything unknown is a provider rejection."""
    try:
        return Reason(value)
    except ValueError:
        return Reason.PROVIDER_REJECTED
