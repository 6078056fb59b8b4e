"""Deliver: one generic worker, parametrised by channel, sending through the channel's providers.

Per batch: one query loads the deliveries, providers send (each behind its circuit
breaker, failing over in order on transient errors or an open breaker), one transaction
records statuses and attempts, then messages are acked, or nak'ed with a backoff delay for a
retry (or the breaker's remaining cool-down, which costs no attempt). A delivery already in
a final state is never sent again, so redeliveries and replays are harmless. Each provider
acceptance is recorded the moment it happens (``pipeline.acceptances``), so a delivery a
provider took before its worker died uncommitted is settled as sent, not sent again. A delivery
that waited (quiet hours, ``scheduledAt``) meets the subscriber's preferences again first.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from nats.aio.msg import Msg

from core.bulk import insert_all
from core.db import run_db
from core.rows import JoinedRead, Table
from core.tags import merged_tags
from deliveries import lifecycle
from deliveries.models import Delivery, DeliveryAttempt, DeliveryStatus
from deliveries.reasons import Reason, as_reason
from notifications.models import Event, Notification, Subscriber
from pipeline import acceptances, breaker, delivery_metrics
from pipeline.channels.base import Destination
from pipeline.channels.registry import get_channel, max_attempts, providers_for, reachable
from pipeline.context import RetryInOrder, StageContext
from pipeline.heartbeat import keep_alive
from pipeline.jetstream import Outgoing, publish_all
from pipeline.messages import decode, encode
from pipeline.providers.base import SUPPRESS, OnAccepted, OutboundMessage, Provider, ProviderResult
from preferences.engine import Decision, preference_decision
from preferences.selectors import routing_facts

log = structlog.get_logger(__name__)

# After provider calls, a database outage is waited out this long (heartbeating the batch)
# before the batch is given up; giving up means sending again later.
RECORD_PATIENCE_SECONDS = 120.0


def backoff_delay(attempt: int) -> float:
    """Exponential steps (RELAY_BACKOFF_SECONDS) with full jitter, so failed sends do not
    come back in lockstep."""
    steps = settings.RELAY_BACKOFF_SECONDS
    return random.uniform(0, steps[min(attempt - 1, len(steps) - 1)])


@dataclass
class Outcome:
    delivery: Delivery
    results: list[ProviderResult] = field(default_factory=list)
    retry_in: float | None = None
    dead_letter: str = ""
    breaker_wait: float = 0.0  # set when an open breaker kept every provider from trying


@dataclass
class Settled:
    """What a batch ends with, by transition: written in one transaction by ``record``."""

    sent: list[lifecycle.Sent] = field(default_factory=list)
    retries: list[lifecycle.Failed] = field(default_factory=list)
    dead: list[lifecycle.Failed] = field(default_factory=list)
    failed: list[lifecycle.Failed] = field(default_factory=list)
    suppressed: list[tuple[int, str]] = field(default_factory=list)
    breaker_waits: list[int] = field(default_factory=list)
    attempts: dict[int, int] = field(default_factory=dict)


# The batch's deliveries with their notifications, events and subscribers (core/rows.py).
DELIVERIES = JoinedRead(
    [Table(Delivery, "d"), Table(Notification, "n"), Table(Event, "e"), Table(Subscriber, "s")],
    "{d} JOIN {n} ON n.id = d.notification_id JOIN {e} ON e.id = n.event_id "
    "JOIN {s} ON s.id = n.subscriber_id",
    "d.id",
)


def load_deliveries(ids: list[int]) -> dict[int, Delivery]:
    """The batch's deliveries, in the batch's order (each subscriber's messages go out in it)."""
    found = {}
    for delivery, notification, event, subscriber in DELIVERIES.fetch(ids):
        assert isinstance(delivery, Delivery) and isinstance(notification, Notification)
        notification.event, notification.subscriber = event, subscriber
        delivery.notification = notification
        found[delivery.pk] = delivery
    return {pk: found[pk] for pk in ids if pk in found}


def preferences_now(deliveries: list[Delivery], channel: str) -> dict[int, Decision]:
    """Rules 1-4 of the routing engine again, for deliveries that waited (quiet hours,
    ``scheduledAt``): a subscriber who opted out, or lost the address, while the message
    waited does not get it. Dedup and rate limits were settled when it was routed."""
    notifications = [d.notification for d in deliveries]
    subscribers = {n.subscriber for n in notifications}
    facts = routing_facts(
        subscribers, {n.event.event_type for n in notifications}, reachable(subscribers, [channel])
    )
    return {
        d.pk: preference_decision(d.notification.event, d.notification.subscriber, channel, facts)
        for d in deliveries
    }


def destinations(deliveries: list[Delivery], channel: str) -> dict[int, Destination]:
    """Where each subscriber's message goes, as the channel finds it (database thread)."""
    return get_channel(channel).destinations({d.notification.subscriber for d in deliveries})


def outbound(delivery: Delivery, destination: Destination) -> OutboundMessage:
    event, subscriber = delivery.notification.event, delivery.notification.subscriber
    return OutboundMessage(
        delivery_id=delivery.pk,
        channel=delivery.channel,
        event_id=event.event_id,
        event_type=event.event_type,
        subscriber_id=subscriber.pk,
        user_id=subscriber.user_id,
        to=destination.to,
        content=delivery.content,
        data=event.data,
        devices=list(destination.devices),
        priority=event.priority,
        tags=merged_tags(delivery.content.get("tags"), (event.metadata or {}).get("tags")),
    )


async def send_with_failover(
    providers: Sequence[Provider],
    outcomes: list[Outcome],
    messages: dict[int, OutboundMessage],
    on_accepted: OnAccepted,
) -> None:
    """Each provider in turn, through its circuit breaker, takes what the previous one failed
    transiently or could not take because its breaker was open."""
    remaining = outcomes
    for provider in providers:
        if not remaining:
            return
        guarded = await breaker.send_guarded(
            provider, [messages[o.delivery.pk] for o in remaining], on_accepted
        )
        for outcome, result in zip(remaining, guarded.results, strict=True):
            if result is None:
                waits = [w for w in (outcome.breaker_wait, guarded.retry_in) if w > 0]
                outcome.breaker_wait = min(waits, default=0.0)
            else:
                outcome.results.append(result)
        remaining = [
            o for o, r in zip(remaining, guarded.results, strict=True) if r is None or r.kind == "transient"
        ]


def settle(outcome: Outcome, max_attempts: int, settled: Settled) -> None:
    """Turn the provider results into the delivery's next transition."""
    delivery = outcome.delivery
    if not outcome.results:  # every breaker open: wait out the cool-down, no attempt counted
        outcome.retry_in = outcome.breaker_wait or backoff_delay(max(delivery.attempts, 1))
        settled.breaker_waits.append(delivery.pk)
        return
    last = outcome.results[-1]
    delivery.attempts += 1
    delivery.provider, delivery.last_error = last.provider, last.error
    if last.details.get(SUPPRESS):
        delivery.status, delivery.reason = DeliveryStatus.SUPPRESSED, as_reason(last.details[SUPPRESS])
        settled.suppressed.append((delivery.pk, delivery.reason))
        settled.attempts[delivery.pk] = delivery.attempts
    elif last.ok:
        delivery.status, delivery.reason = DeliveryStatus.SENT, Reason.NONE
        delivery.provider_message_id = last.provider_message_id
        delivery.sent_at = timezone.now()
        settled.sent.append(
            lifecycle.Sent(
                delivery.pk, delivery.attempts, last.provider, last.provider_message_id, delivery.sent_at
            )
        )
    elif last.kind == "permanent" or delivery.attempts >= max_attempts:
        delivery.status = DeliveryStatus.FAILED
        delivery.reason = Reason.PROVIDER_REJECTED if last.kind == "permanent" else Reason.ATTEMPTS_EXHAUSTED
        outcome.dead_letter = last.error or "failed"
        settled.dead.append(
            lifecycle.Failed(
                delivery.pk, delivery.channel, delivery.attempts, last.provider, last.error, delivery.reason
            )
        )
    else:
        delivery.reason = Reason.TRANSIENT_ERROR
        outcome.retry_in = max(backoff_delay(delivery.attempts), last.retry_after)
        settled.retries.append(
            lifecycle.Failed(delivery.pk, delivery.channel, delivery.attempts, last.provider, last.error)
        )


def record(outcomes: list[Outcome], settled: Settled) -> None:
    """One transaction for the batch: the transitions (with their timeline and dead letters)
    and the attempt log."""
    attempts = [
        DeliveryAttempt(
            delivery=outcome.delivery,
            number=outcome.delivery.attempts,
            provider=result.provider,
            outcome=result.kind,
            error=result.error,
            provider_message_id=result.provider_message_id,
            duration_ms=result.duration_ms,
        )
        for outcome in outcomes
        for result in outcome.results
    ]
    with transaction.atomic():
        lifecycle.mark_sent(settled.sent)
        lifecycle.schedule_retry(settled.retries)
        lifecycle.dead_letter(settled.dead)
        lifecycle.fail(settled.failed)
        lifecycle.suppress(settled.suppressed, settled.attempts)
        lifecycle.wait_for_breaker(settled.breaker_waits)
        insert_all(DeliveryAttempt, attempts)


async def record_durably(outcomes: list[Outcome], settled: Settled) -> None:
    """Record, retrying through a database outage: the provider calls already happened, and
    giving the batch up now would send it all again once it comes back."""
    loop = asyncio.get_running_loop()
    deadline, pause = loop.time() + RECORD_PATIENCE_SECONDS, 0.25
    while True:
        try:
            await run_db(record, outcomes, settled)
            return
        except (OperationalError, InterfaceError) as error:
            if loop.time() > deadline:
                raise
            log.warning("deliver_record_retrying", error=str(error), batch=len(outcomes))
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)


async def deliver(batch: list[Msg], ctx: StageContext, channel: str) -> None:
    wanted: dict[int, list[Msg]] = {}
    for msg in batch:
        payload = decode(msg)
        if payload is None or not isinstance(payload.get("delivery_id"), int):
            log.error("deliver_message_unreadable", subject=msg.subject)
            await msg.term()
            continue
        wanted.setdefault(payload["delivery_id"], []).append(msg)
    deliveries = await run_db(load_deliveries, list(wanted))
    providers = providers_for(channel)
    ledger = acceptances.ledger(providers)
    pending = [d for d in deliveries.values() if d.status == DeliveryStatus.PENDING]
    # A provider took these before a worker died uncommitted: settle them, never send again.
    accepted = await ledger.find(pending)
    recovered = [Outcome(d, [accepted[d.pk]]) for d in pending if d.pk in accepted]
    now = timezone.now()
    settled = Settled()
    to_send: list[Outcome] = []
    finished: list[Delivery] = []

    def finish(delivery: Delivery, status: str, reason: str) -> None:
        delivery.status, delivery.reason = status, reason
        finished.append(delivery)
        if status == DeliveryStatus.SUPPRESSED:
            settled.suppressed.append((delivery.pk, reason))
        else:
            settled.failed.append(lifecycle.Failed(delivery.pk, channel, delivery.attempts, "", "", reason))

    for delivery in pending:
        if delivery.pk in accepted:
            continue
        expires_at = delivery.notification.event.expires_at
        if expires_at is not None and expires_at <= now:
            finish(delivery, DeliveryStatus.SUPPRESSED, Reason.EXPIRED)
            continue
        to_send.append(Outcome(delivery))
    waited = [o.delivery for o in to_send if o.delivery.not_before is not None]
    if waited:
        verdicts = await run_db(preferences_now, waited, channel)
        for outcome in to_send:
            verdict = verdicts.get(outcome.delivery.pk)
            if verdict is not None and verdict.action == "suppress":
                finish(outcome.delivery, DeliveryStatus.SUPPRESSED, verdict.reason)
        to_send = [o for o in to_send if o.delivery.status == DeliveryStatus.PENDING]
    if to_send and not providers:
        for outcome in to_send:
            finish(outcome.delivery, DeliveryStatus.FAILED, Reason.PROVIDER_NOT_CONFIGURED)
        to_send = []
    if to_send:
        found = await run_db(destinations, [o.delivery for o in to_send], channel)
        nowhere = Destination()
        messages = {
            o.delivery.pk: outbound(o.delivery, found.get(o.delivery.notification.subscriber_id, nowhere))
            for o in to_send
        }
        async with keep_alive(batch):
            await send_with_failover(providers, to_send, messages, ledger.record)
            await get_channel(channel).finish(
                [(messages[o.delivery.pk], result) for o in to_send for result in o.results]
            )
    to_send += recovered
    attempts_allowed = max_attempts(channel)
    for outcome in to_send:
        settle(outcome, attempts_allowed, settled)
    async with keep_alive(batch):
        await record_durably(to_send, settled)
    await ledger.forget([o.delivery for o in to_send if o.delivery.status == DeliveryStatus.SENT])
    delivery_metrics.record_deliver_batch(channel, to_send, finished)
    await publish_all(
        ctx.js,
        (
            Outgoing(
                ctx.names.dlq_subject(channel),
                encode({"delivery_id": o.delivery.pk, "reason": o.dead_letter}),
                f"dlq{o.delivery.pk}-{o.delivery.attempts}",
            )
            for o in to_send
            if o.dead_letter
        ),
    )
    retry = {o.delivery.pk: o.retry_in for o in to_send if o.retry_in is not None}
    held: list[Msg] = []
    for delivery_id, msgs in wanted.items():
        for msg in msgs:
            if delivery_id not in retry:
                await msg.ack()
            elif ctx.ordered:  # nothing later in the partition may overtake it
                held.append(msg)
            else:
                await msg.nak(delay=retry[delivery_id])
    sent = sum(1 for o in to_send if o.delivery.status == DeliveryStatus.SENT)
    log.info(
        "deliveries_processed",
        channel=channel,
        batch=len(batch),
        sent=sent,
        retrying=len(retry),
        recovered=len(recovered),
    )
    if held:
        raise RetryInOrder(held, max(retry.values()))
