"""Writes of the notifications app: accepting events, managing subscribers.

Accepting an event means JetStream has stored it. Idempotency on ``eventId`` is kept in
three layers: the cache (fast, covers the gap until ingest has written the row), the
``Event`` table (the truth, forever), and JetStream's own ``Nats-Msg-Id`` window.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
import structlog
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core import metrics
from core.names import names
from core.publisher import get_publisher
from notifications.cache_batch import claim_all
from notifications.event_lookup import stored_fingerprints
from notifications.models import Subscriber

log = structlog.get_logger(__name__)

Outcome = Literal["accepted", "duplicate", "conflict", "unavailable"]


@dataclass
class Acceptance:
    event_id: str
    outcome: Outcome
    fingerprint: str
    existing_fingerprint: str = ""
    error: str = ""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def canonical_body(validated: dict[str, Any]) -> dict[str, Any]:
    """The client's event as JSON-ready data, defaults filled in, for fingerprinting."""
    body = dict(validated)
    for key in ("scheduledAt", "expiresAt"):
        if key in body:
            body[key] = _iso(body[key])
    return body


def fingerprint_of(body: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def event_message(body: dict[str, Any], fingerprint: str) -> bytes:
    """The payload on ``relay.events.<type>``: what ingest needs to persist the event."""
    return orjson.dumps(
        {
            "event_id": body["eventId"],
            "event_type": body["eventType"],
            "user_id": body.get("userId", ""),
            "topic": body.get("topic", ""),
            "channels": body["channels"],
            "priority": body.get("priority", "normal"),
            "data": body.get("data", {}),
            "metadata": body.get("metadata", {}),
            "locale": body.get("locale", ""),
            "scheduled_at": body.get("scheduledAt"),
            "expires_at": body.get("expiresAt"),
            "cancellation_key": body.get("cancellationKey", ""),
            "fingerprint": fingerprint,
            "accepted_at": timezone.now().isoformat(),
        }
    )


def _cache_key(event_id: str) -> str:
    return f"evt:{event_id}"


def _claim(results: list[Acceptance]) -> list[str | None]:
    """Claim every eventId in the cache: for each, None if this call claimed it, else the
    fingerprint already there. A cache outage is not an error: the database and JetStream
    still deduplicate."""
    keys = [_cache_key(result.event_id) for result in results]
    try:
        return claim_all(keys, [result.fingerprint for result in results], settings.RELAY_DEDUP_TTL)
    except Exception as error:
        log.warning("dedup_cache_unavailable", error=str(error))
        return [None] * len(results)


def _release(event_ids: list[str]) -> None:
    """Drop the claims of events JetStream did not store, so that a retry counts as new.
    A claim left behind only delays a retry's answer to the database lookup."""
    if not event_ids:
        return
    try:
        cache.delete_many([_cache_key(event_id) for event_id in event_ids])
    except Exception as error:
        log.warning("dedup_cache_unavailable", error=str(error))


def _seen_before(result: Acceptance, existing: str | None) -> bool:
    """Settle an event whose id is known already (claimed or stored) as a duplicate or conflict."""
    if existing is None:
        return False
    result.existing_fingerprint = existing
    result.outcome = "duplicate" if existing == result.fingerprint else "conflict"
    return True


def accepted_but_pending(event_id: str) -> bool:
    """True while an accepted event has not reached the database yet."""
    try:
        return cache.get(_cache_key(event_id)) is not None
    except Exception:
        return False


def accept_events(validated_events: list[dict[str, Any]]) -> list[Acceptance]:
    """Store each event durably in JetStream, or say why not. Order of results = input.

    1. claim every eventId in the cache (a fast answer for retries within the TTL);
    2. look the unclaimed ones up in the Event table (the truth, forever);
    3. publish the rest to JetStream (``Nats-Msg-Id`` catches a race between two requests).
    """
    bodies = [canonical_body(validated) for validated in validated_events]
    results = [Acceptance(body["eventId"], "accepted", fingerprint_of(body)) for body in bodies]
    claims = _claim(results)
    unclaimed = [i for i, held in enumerate(claims) if not _seen_before(results[i], held)]
    stored = stored_fingerprints([results[i].event_id for i in unclaimed])
    to_publish = [i for i in unclaimed if not _seen_before(results[i], stored.get(results[i].event_id))]
    n = names()
    messages = [
        (
            n.event_subject(bodies[i]["eventType"]),
            event_message(bodies[i], results[i].fingerprint),
            results[i].event_id,
        )
        for i in to_publish
    ]
    acks = get_publisher().publish_many(messages) if messages else []
    for index, ack in zip(to_publish, acks, strict=True):
        result = results[index]
        if isinstance(ack, Exception):
            result.outcome, result.error = "unavailable", str(ack)
            log.warning("event_publish_failed", event_id=result.event_id, error=str(ack))
        elif ack.duplicate:
            result.outcome, result.existing_fingerprint = "duplicate", result.fingerprint
    _release([result.event_id for result in results if result.outcome == "unavailable"])
    for outcome, count in Counter(result.outcome for result in results).items():
        metrics.EVENTS_RECEIVED.labels(outcome).inc(count)
    return results


def upsert_subscriber(user_id: str, fields: dict[str, Any]) -> tuple[Subscriber, bool]:
    """PUT semantics on the fields given; fields left out keep their values.

    An address given again for a channel that had disabled it is enabled again: the client
    says the receiver is back.
    """
    subscriber, created = Subscriber.objects.get_or_create(user_id=user_id, defaults=fields)
    if not created and fields:
        for name, value in fields.items():
            setattr(subscriber, name, value)
        if "addresses" in fields:
            subscriber.disabled_addresses = {
                channel: gone
                for channel, gone in subscriber.disabled_addresses.items()
                if channel not in fields["addresses"]
            }
        subscriber.save()
    return subscriber, created
