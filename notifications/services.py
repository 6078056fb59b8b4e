"""Writes of the notifications app: accepting events, managing subscribers.

Accepting an event means JetStream has stored it. Idempotency on ``eventId`` is kept in
three layers: the cache (fast, covers the gap until ingest has written the row), the
``Event`` table (the truth, forever), and JetStream's own ``Nats-Msg-Id`` window.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
import structlog
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from notifications.cache_batch import claim_all
from notifications.models import Event, Subscriber
from pipeline import metrics
from pipeline.names import names
from pipeline.publisher import get_publisher

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
            "fingerprint": fingerprint,
            "accepted_at": timezone.now().isoformat(),
        }
    )


def _cache_key(event_id: str) -> str:
    return f"evt:{event_id}"


def _claim_in_cache(event_ids: list[str], fingerprints: list[str]) -> list[str | None]:
    """Claim the ids; for each, the fingerprint already claimed if another request got there first.

    A cache outage is not an error: the database and JetStream still deduplicate.
    """
    try:
        return claim_all([_cache_key(e) for e in event_ids], fingerprints, settings.RELAY_DEDUP_TTL)
    except Exception as error:
        log.warning("dedup_cache_unavailable", error=str(error))
        return [None] * len(event_ids)


def _release_claim(event_id: str) -> None:
    try:
        cache.delete(_cache_key(event_id))
    except Exception as error:
        log.warning("dedup_cache_unavailable", error=str(error))


def accepted_but_pending(event_id: str) -> bool:
    """True while an accepted event has not reached the database yet."""
    try:
        return cache.get(_cache_key(event_id)) is not None
    except Exception:
        return False


def accept_events(validated_events: list[dict[str, Any]]) -> list[Acceptance]:
    """Store each event durably in JetStream, or say why not. Order of results = input."""
    results: list[Acceptance] = []
    to_check: list[Acceptance] = []
    bodies: dict[int, dict[str, Any]] = {}
    prepared = []
    for validated in validated_events:
        body = canonical_body(validated)
        prepared.append((body, Acceptance(body["eventId"], "accepted", fingerprint_of(body))))
    claims = _claim_in_cache([r.event_id for _, r in prepared], [r.fingerprint for _, r in prepared])
    for (body, result), existing in zip(prepared, claims, strict=True):
        if existing is not None:
            result.outcome = "duplicate" if existing == result.fingerprint else "conflict"
            result.existing_fingerprint = existing
        else:
            to_check.append(result)
            bodies[id(result)] = body
        results.append(result)

    stored = dict(
        Event.objects.filter(event_id__in=[r.event_id for r in to_check]).values_list(
            "event_id", "fingerprint"
        )
    )
    to_publish: list[Acceptance] = []
    for result in to_check:
        if result.event_id in stored:
            result.existing_fingerprint = stored[result.event_id]
            result.outcome = "duplicate" if stored[result.event_id] == result.fingerprint else "conflict"
        else:
            to_publish.append(result)

    n = names()
    acks = get_publisher().publish_many(
        [
            (
                n.event_subject(bodies[id(r)]["eventType"]),
                event_message(bodies[id(r)], r.fingerprint),
                r.event_id,
            )
            for r in to_publish
        ]
    )
    for result, ack in zip(to_publish, acks, strict=True):
        if isinstance(ack, Exception):
            result.outcome = "unavailable"
            result.error = str(ack)
            _release_claim(result.event_id)
            log.warning("event_publish_failed", event_id=result.event_id, error=str(ack))
        elif ack.duplicate:
            result.outcome = "duplicate"
            result.existing_fingerprint = result.fingerprint
    for result in results:
        metrics.EVENTS_RECEIVED.labels(result.outcome).inc()
    return results


def upsert_subscriber(user_id: str, fields: dict[str, Any]) -> tuple[Subscriber, bool]:
    """PUT semantics on the fields given; fields left out keep their values."""
    subscriber, created = Subscriber.objects.get_or_create(user_id=user_id, defaults=fields)
    if not created and fields:
        for name, value in fields.items():
            setattr(subscriber, name, value)
        subscriber.save()
    return subscriber, created
