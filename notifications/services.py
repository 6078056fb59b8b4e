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
from nats.js.api import PubAck

from core import metrics
from core.names import names
from core.publisher import get_publisher, sender_for_running_loop
from notifications.cache_batch import arelease_all, claim_all
from notifications.event_lookup import stored_fingerprints, stored_fingerprints_async
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
            "fingerprint": fingerprint,
            "accepted_at": timezone.now().isoformat(),
        }
    )


def _cache_key(event_id: str) -> str:
    return f"evt:{event_id}"


def _claim_failed(error: Exception, count: int) -> list[str | None]:
    """A cache outage is not an error: the database and JetStream still deduplicate."""
    log.warning("dedup_cache_unavailable", error=str(error))
    return [None] * count


def _release_failed(error: Exception) -> None:
    """A claim left behind only delays a retry's answer to the database lookup."""
    log.warning("dedup_cache_unavailable", error=str(error))


def accepted_but_pending(event_id: str) -> bool:
    """True while an accepted event has not reached the database yet."""
    try:
        return cache.get(_cache_key(event_id)) is not None
    except Exception:
        return False


class Intake:
    """Accepting a batch of validated events, step by step; ``accept_events`` and
    ``accept_events_async`` run the same steps with blocking or awaited I/O between them.

    1. claim every eventId in the cache (a fast answer for retries within the TTL);
    2. look the unclaimed ones up in the Event table (the truth, forever);
    3. publish the rest to JetStream (``Nats-Msg-Id`` catches a race between two requests).
    """

    def __init__(self, validated_events: list[dict[str, Any]]) -> None:
        self.bodies = [canonical_body(validated) for validated in validated_events]
        self.results = [Acceptance(b["eventId"], "accepted", fingerprint_of(b)) for b in self.bodies]
        self.to_check: list[int] = []
        self.to_publish: list[int] = []
        self.unclaim: list[str] = []  # claims of events JetStream did not store: a retry is new

    def claim_keys(self) -> tuple[list[str], list[str]]:
        return [_cache_key(r.event_id) for r in self.results], [r.fingerprint for r in self.results]

    def after_claims(self, claims: list[str | None]) -> list[str]:
        """Settle the ids someone already claimed; return the ids to look up in the database."""
        for index, (result, existing) in enumerate(zip(self.results, claims, strict=True)):
            if existing is not None:
                result.outcome = "duplicate" if existing == result.fingerprint else "conflict"
                result.existing_fingerprint = existing
            else:
                self.to_check.append(index)
        return [self.results[index].event_id for index in self.to_check]

    def after_lookup(self, stored: dict[str, str]) -> list[tuple[str, bytes, str]]:
        """Settle the ids already stored; return the messages to publish."""
        for index in self.to_check:
            result = self.results[index]
            if result.event_id in stored:
                result.existing_fingerprint = stored[result.event_id]
                result.outcome = "duplicate" if stored[result.event_id] == result.fingerprint else "conflict"
            else:
                self.to_publish.append(index)
        n = names()
        return [
            (
                n.event_subject(self.bodies[index]["eventType"]),
                event_message(self.bodies[index], self.results[index].fingerprint),
                self.results[index].event_id,
            )
            for index in self.to_publish
        ]

    def after_publish(self, acks: list[PubAck | Exception]) -> list[Acceptance]:
        for index, ack in zip(self.to_publish, acks, strict=True):
            result = self.results[index]
            if isinstance(ack, Exception):
                result.outcome = "unavailable"
                result.error = str(ack)
                self.unclaim.append(_cache_key(result.event_id))
                log.warning("event_publish_failed", event_id=result.event_id, error=str(ack))
            elif ack.duplicate:
                result.outcome = "duplicate"
                result.existing_fingerprint = result.fingerprint
        for result in self.results:
            metrics.EVENTS_RECEIVED.labels(result.outcome).inc()
        return self.results


def accept_events(validated_events: list[dict[str, Any]]) -> list[Acceptance]:
    """Store each event durably in JetStream, or say why not. Order of results = input."""
    intake = Intake(validated_events)
    try:
        claims = claim_all(*intake.claim_keys(), settings.RELAY_DEDUP_TTL)
    except Exception as error:
        claims = _claim_failed(error, len(intake.results))
    messages = intake.after_lookup(stored_fingerprints(intake.after_claims(claims)))
    results = intake.after_publish(get_publisher().publish_many(messages) if messages else [])
    if intake.unclaim:
        try:
            cache.delete_many(intake.unclaim)
        except Exception as error:
            _release_failed(error)
    return results


async def accept_claimed_async(intake: Intake, claims: list[str | None]) -> list[Acceptance]:
    """``accept_events`` from an event loop, once the caller has claimed the ids
    (``acount_and_claim``, with its throttle): the database lookup and JetStream awaited on
    the running loop."""
    messages = intake.after_lookup(await stored_fingerprints_async(intake.after_claims(claims)))
    sender = sender_for_running_loop()
    results = intake.after_publish(await sender.publish_many(messages) if messages else [])
    if intake.unclaim:
        await release_claims_async(intake.unclaim)
    return results


async def release_claims_async(keys: list[str]) -> None:
    try:
        await arelease_all(keys)
    except Exception as error:
        _release_failed(error)


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
