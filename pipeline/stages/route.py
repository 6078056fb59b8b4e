"""Route: decide per notification and channel, record a Delivery with its reason, dispatch.

One Delivery per (notification, channel), whatever the decision, so every requested channel
is accounted for. Replays find the rows and only re-dispatch those still pending.

A notification whose event type has a current workflow version goes another way: it starts a
workflow run (``workflows.runs``), handed to the workflow stage, whose ``send`` steps decide
their deliveries here too (``decide_sends``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from django.db import transaction
from nats.aio.msg import Msg

from core.db import run_db
from core.rows import JoinedRead, Table
from core.tags import merged_tags
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
from pipeline.messages import encode, ids_of
from pipeline.ratelimit import over_limit
from preferences.engine import Candidate, Decision, Gates, decide_all
from preferences.models import QuietHours
from preferences.selectors import routing_facts
from templates_admin.rendering import TemplateRenderError, render
from workflows.runs import start_runs
from workflows.selectors import current_versions
from workflows.steps.base import SendRequest

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


@dataclass(frozen=True)
class Send:
    """One delivery to decide: a notification on a channel, shaped (for a workflow step) by
    another event type's templates, ``urgent``, more template context and in-app buttons."""

    notification: Notification
    channel: str
    template: str = ""
    urgent: bool = False
    context: Mapping[str, Any] = field(default_factory=dict)
    actions: Mapping[str, Any] = field(default_factory=dict)
    tags: Sequence[str] = ()

    @classmethod
    def of(cls, request: SendRequest) -> Send:
        """A workflow step's send."""
        return cls(
            request.notification,
            request.channel,
            request.template,
            request.urgent,
            request.context,
            request.actions,
            request.tags,
        )

    def routed_event(self) -> Event:
        """The event as the rules see it: ``urgent`` makes it urgent for this delivery only."""
        event = self.notification.event
        if not self.urgent or event.priority == "urgent":
            return event
        event = copy.copy(event)
        event.priority = "urgent"
        return event


def _decided_delivery(send: Send, event: Event, decision: Decision, now: datetime) -> Delivery:
    notification, channel, subscriber = send.notification, send.channel, send.notification.subscriber
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
        delivery.content = render(event, subscriber, channel, send.template, send.context, dict(send.actions))
        if send.tags:
            delivery.content["tags"] = merged_tags(send.tags, delivery.content.get("tags"))
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


def decide_sends(sends: Sequence[Send]) -> tuple[list[Delivery], bool]:
    """Decide and create one delivery per send; return those created, and whether some pair
    had been decided before (a replay: it keeps its first decision).

    The facts of the whole batch are loaded up front (a fixed number of queries), dedup and
    rate limits cost one Redis round trip each, and the deliveries go in with one insert.
    """
    subscribers = {s.notification.subscriber for s in sends}
    facts = routing_facts(
        subscribers,
        {s.notification.event.event_type for s in sends},
        reachable(subscribers, [s.channel for s in sends]),
    )
    deliveries: list[Delivery] = []
    candidates: list[Candidate] = []
    routed: dict[tuple[int, str], tuple[Send, Event]] = {}
    for send in sends:
        settled = _predecided(send.notification, send.channel, facts.now)
        if settled is not None:
            deliveries.append(settled)
            continue
        event = send.routed_event()
        candidates.append(Candidate(send.notification.pk, event, send.notification.subscriber, send.channel))
        routed[(send.notification.pk, send.channel)] = (send, event)
    decided_before = False
    for key, decision in decide_all(candidates, facts, ROUTE_GATES).items():
        if decision.reason != "duplicate":
            deliveries.append(_decided_delivery(*routed[key], decision, facts.now))
        else:
            decided_before = True
    with transaction.atomic(savepoint=False):  # in ingest's transaction, no savepoint round trips
        created = lifecycle.decide(deliveries)
    delivery_metrics.count_deliveries(d for d in created if d.status != DeliveryStatus.PENDING)
    return created, decided_before


@dataclass
class Plan:
    dispatch: list[tuple[str, int, int]]  # (channel, delivery id, subscriber id) to send now
    runs: list[int]  # workflow runs to advance


def plan_deliveries(notification_ids: list[int]) -> Plan:
    """Create the batch's deliveries (or workflow runs); return what to hand on.

    A pair decided before (a replayed message) keeps its first decision.
    """
    found = {n.pk: n for n in load_notifications(notification_ids)}
    notifications = [found[pk] for pk in dict.fromkeys(notification_ids) if pk in found]
    versions = current_versions({n.event.event_type for n in notifications})
    runs = (
        start_runs([n for n in notifications if n.event.event_type in versions], versions) if versions else []
    )
    direct = [n for n in notifications if n.event.event_type not in versions]
    if not direct:
        return Plan([], runs)
    created, decided_before = decide_sends([Send(n, channel) for n in direct for channel in n.event.channels])
    expected = sum(len(n.event.channels) for n in direct)
    if len(created) == expected and not decided_before:
        return Plan(
            [
                (d.channel, d.pk, d.notification.subscriber_id)
                for d in created
                if d.status == DeliveryStatus.PENDING
            ],
            runs,
        )
    # A replay: the pairs decided before keep their first decision; those still pending go again.
    pending = Delivery.objects.filter(
        notification_id__in=[n.pk for n in direct], status=DeliveryStatus.PENDING
    )
    return Plan(list(pending.values_list("channel", "pk", "notification__subscriber_id")), runs)


async def route(batch: list[Msg], ctx: StageContext) -> None:
    ids, readable = await ids_of(batch, "notification_id", "route_message_unreadable")
    if not ids:
        return
    plan = await run_db(plan_deliveries, ids)
    await hand_on(ctx, plan)
    for msg in readable:
        await msg.ack()
    log.info(
        "notifications_routed", notifications=len(ids), dispatched=len(plan.dispatch), runs=len(plan.runs)
    )


async def hand_on(ctx: StageContext, plan: Plan) -> None:
    """Publish what a plan hands on: the deliveries to send now and the runs to advance."""
    await publish_all(ctx.js, [*dispatch_messages(ctx, plan.dispatch), *run_messages(ctx, plan.runs)])


def dispatch_messages(ctx: StageContext, dispatch: list[tuple[str, int, int]]) -> list[Outgoing]:
    """The deliver messages of pending deliveries (``d<id>``: a replay's copy is dropped), in
    the order given: a partitioned channel's worker handles each subscriber's in that order."""
    return [
        Outgoing(ctx.names.deliver_subject(channel, subscriber), encode({"delivery_id": did}), f"d{did}")
        for channel, did, subscriber in dispatch
    ]


def run_messages(ctx: StageContext, runs: list[int]) -> list[Outgoing]:
    """The workflow stage's messages that start runs (``r<id>``: a replay's copy is dropped)."""
    return [Outgoing(ctx.names.workflow_subject, encode({"run_id": rid}), f"r{rid}") for rid in runs]
