"""``notify(...)``: send an event once the current database transaction commits.

An event sent inside a transaction that then rolls back would tell a user about something
that never happened; one sent on commit cannot. Django is imported here only, so the rest of
the client works without it.

The client comes from the ``RELAY_CLIENT`` setting (``{"api_key": ..., "base_url": ...}``,
any ``Relay`` option) unless one is passed. The eventId is made at once and returned, so it
can be stored with the row the transaction writes; the send on commit keeps it across
retries.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.conf import settings
from django.db import transaction

from relay_client._ops import new_event_id
from relay_client.client import Relay
from relay_client.errors import RelayError

logger = logging.getLogger("relay_client")


@functools.cache
def default_client() -> Relay:
    """One client per process, from ``settings.RELAY_CLIENT`` (else the RELAY_* environment)."""
    return Relay(**getattr(settings, "RELAY_CLIENT", {}))


def notify(event_type: str, *, client: Relay | None = None, using: str | None = None, **event: Any) -> str:
    """Trigger ``event_type`` (``Relay.trigger``'s keyword arguments) when the transaction of
    ``using`` commits (at once outside one); nothing if it rolls back. Returns the eventId.

    A failure to send after the retries is logged (``relay_client`` logger), not raised: the
    transaction has committed by then and the caller cannot undo it.
    """
    event_id = event.pop("event_id", None) or new_event_id()

    def send() -> None:
        try:
            (client or default_client()).trigger(event_type, event_id=event_id, **event)
        except RelayError:
            logger.exception("Relay event %s (%s) was not sent", event_id, event_type)

    transaction.on_commit(send, using=using)
    return event_id
