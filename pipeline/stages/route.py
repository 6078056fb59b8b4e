"""Route: decide per notification and channel, record a Delivery with its reason, dispatch.

One Delivery per (notification, channel), whatever the decision, so every requested channel
is accounted for. Replays find the rows and only re-dispatch those still pending.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from django.db import transaction
from nats.aio.msg import Msg

from core.db import run_db
from core.rows import JoinedRead, Table
from deliveries import lifecycle
from deliveries.models import Decision as DecisionAction
from deliveries.models import Delivery, DeliveryStatus
from deliveries.reasons import Reason
from notifications.models import Event, Notification, Subscriber
from pipeline import delivery_metrics
from pipeline.channels.registry import channel_configured, get_channel, reachable
from pipeline.context import StageContext
from pipeline.dedup import decided_already
from pipeline.jetstream import Outgoing, publish_all
from pipeline.messages import decode, encode
from pipeline.ratelimit import over_limit
from preferences.engine import Candidate, Decision, Gates, decide_all
from preferences.models import QuietHours
from preferences.selectors import routing_facts
from templates_admin.rendering import TemplateRenderError, render

log = structlog.get_logger(__name__)


def _predecided(notification: Notification, channel: str, now: datetime) -> Delivery | None:
    """Deliveries settled before any preference is asked: expired event, channel not set up."""
    event = notification.event
    if event.expires_at is not None and event.expires_at <= now:
        return Delivery(
            notification=notification,
            channel=channel,
            status=DeliveryStatus.SUPPRESSED,
            reason=Reason.EXPIRED,
            decision=DecisionAction.SUPPRESS,
            decision_reason=Reason.EXPIRED,
            decision_rule="expiry",
        )
    if not channel_configured(channel):
        return Delivery(
            notification=notification,
            channel=channel,
            status=DeliveryStatus.FAILED,
            reason=Reason.PROVIDER_NOT_CONFIGURED,
        )
    return None


def _decided_delivery(
    notification: Notification, channel: str, decision: Decision, now: datetime
) -> Delivery:
    event, subscriber = notification.event, notification.subscriber
    delivery = Delivery(
        notification=notification,
        channel=channel,
        decision=decision.action,
        decision_reason=decision.reason,
        decision_rule=decision.rule,
    )
    if decision.action == "suppress":
        delivery.status, delivery.reason = DeliveryStatus.SUPPRESSED, decision.reason
        return delivery
    try:
        delivery.content = render(event, subscriber, channel)
        missing = [key for key in get_channel(channel).content_keys if key not in delivery.content]
        if missing:
            raise TemplateRenderError(f"the {channel} content lacks {', '.join(missing)}")
    except TemplateRenderError as error:
        delivery.status, delivery.reason = DeliveryStatus.FAILED, Reason.TEMPLATE_ERROR
        delivery.last_error = str(error)
        return delivery
    if decision.action == "defer":
        delivery.status, delivery.reason = DeliveryStatus.DEFERRED, decision.reason
        delivery.not_before = decision.until
    if event.scheduled_at is not None and event.scheduled_at > now:
        later = max(event.scheduled_at, delivery.not_before or event.scheduled_at)
        delivery.status, delivery.not_before = DeliveryStatus.SCHEDULED, later
        delivery.reason = delivery.reason or Reason.SCHEDULED
        delivery.decision = DecisionAction.DEFER
        delivery.decision_reason = delivery.decision_reason or Reason.SCHEDULED
        delivery.decision_rule = delivery.decision_rule or "schedule"
    return delivery


# The batch's notifications with their events, subscribers and quiet hours (core/rows.py).
NOTIFICATIONS = JoinedRead(
    [Table(Notification, "n"), Table(Event, "e"), Table(Subscriber, "s"), Table(QuietHours, "q", True)],
    "{n} JOIN {e} ON e.id = n.event_id JOIN {s} ON s.id = n.subscriber_id "
    "LEFT JOIN {q} ON q.subscriber_id = s.id",
    "n.id",
)


def load_notifications(ids: list[int]) -> list[Notification]:
    notifications = []
    for notification, event, subscriber, quiet_hours in NOTIFICATIONS.fetch(ids):
        assert isinstance(notification, Notification) and isinstance(subscriber, Subscriber)
        notification.event, notification.subscriber = event, subscriber
        Subscriber.quiet_hours.related.set_cached_value(subscriber, quiet_hours)
        notifications.append(notification)
    return notifications


ROUTE_GATES = Gates(duplicates=decided_already, over_limit=over_limit)


def plan_deliveries(notification_ids: list[int]) -> list[tuple[str, int]]:
    """Create the batch's deliveries; return (channel, delivery id) of those to send now.

    The facts of the whole batch are loaded up front (a fixed number of queries), dedup and
    rate limits cost one Redis round trip each, and the deliveries go in with one insert.
    A pair decided before (a replayed message) keeps its first decision.
    """
    found = {n.pk: n for n in load_notifications(notification_ids)}
    notifications = [found[pk] for pk in dict.fromkeys(notification_ids) if pk in found]
    subscribers = {n.subscriber for n in notifications}
    facts = routing_facts(
        subscribers,
        {n.event.event_type for n in notifications},
        reachable(subscribers, [c for n in notifications for c in n.event.channels]),
    )
    by_id = {n.pk: n for n in notifications}
    deliveries: list[Delivery] = []
    candidates: list[Candidate] = []
    for n in notifications:
        for channel in n.event.channels:
            settled = _predecided(n, channel, facts.now)
            if settled is not None:
                deliveries.append(settled)
            else:
                candidates.append(Candidate(n.pk, n.event, n.subscriber, channel))
    candidates_decided_before = False
    for (nid, channel), decision in decide_all(candidates, facts, ROUTE_GATES).items():
        if decision.reason != "duplicate":
            deliveries.append(_decided_delivery(by_id[nid], channel, decision, facts.now))
        else:
            candidates_decided_before = True
    with transaction.atomic():
        created = lifecycle.decide(deliveries)
    delivery_metrics.count_deliveries(d for d in created if d.status != DeliveryStatus.PENDING)
    if len(created) == len(deliveries) and not candidates_decided_before:
        return [(d.channel, d.pk) for d in created if d.status == DeliveryStatus.PENDING]
    # A replay: the pairs decided before keep their first decision; those still pending go again.
    return list(
        Delivery.objects.filter(
            notification_id__in=notification_ids, status=DeliveryStatus.PENDING
        ).values_list("channel", "pk")
    )


async def route(batch: list[Msg], ctx: StageContext) -> None:
    ids: list[int] = []
    readable: list[Msg] = []
    for msg in batch:
        payload: dict[str, Any] | None = decode(msg)
        if payload is None or not isinstance(payload.get("notification_id"), int):
            log.error("route_message_unreadable", subject=msg.subject)
            await msg.term()
            continue
        ids.append(payload["notification_id"])
        readable.append(msg)
    if not ids:
        return
    dispatch = await run_db(plan_deliveries, ids)
    await publish_all(
        ctx.js,
        (
            Outgoing(ctx.names.deliver_subject(channel), encode({"delivery_id": did}), f"d{did}")
            for channel, did in dispatch
        ),
    )
    for msg in readable:
        await msg.ack()
    log.info("notifications_routed", notifications=len(ids), dispatched=len(dispatch))
