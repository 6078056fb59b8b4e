"""``send``: one delivery on a registered channel, decided by routing exactly as an event's.

Preferences, quiet hours, rate limits, templates (``template`` names the event type whose
templates render it) and ``urgent`` all apply. Quiet hours defer the delivery, not the run:
the step is done with its delivery deferred (``waiting_until`` says until when; the scheduler
releases it like any deferred delivery) and the run goes on to its next step.

A run has one delivery per channel (deliveries are unique per notification and channel): a
second ``send`` step on a channel an earlier step of the run used is ``skipped`` with
``channel_already_used``, never recorded as having sent the earlier step's delivery.
"""

from __future__ import annotations

from deliveries.models import DeliveryStatus
from workflows.models import StepStatus
from workflows.steps.base import Outcome, SendRequest, StepContext, done

WAITING = (DeliveryStatus.DEFERRED, DeliveryStatus.SCHEDULED)


def start(ctx: StepContext) -> Outcome:
    config = ctx.config
    delivery = ctx.sender(
        SendRequest(
            ctx.notification,
            str(config["channel"]),
            template=str(config.get("template") or ""),
            urgent=bool(config.get("urgent")),
            context=ctx.run.context,
            actions=config.get("actions") or {},
            tags=config.get("tags") or [],
        )
    )
    if any(other.delivery_id == delivery.pk for other in ctx.states.values() if other is not ctx.state):
        return Outcome(StepStatus.SKIPPED, "channel_already_used", values={"channel": delivery.channel})
    return done(
        delivery.reason,
        delivery=delivery,
        until=delivery.not_before if delivery.status in WAITING else None,
        values={
            "channel": delivery.channel,
            "decision": delivery.decision,
            "deliveryStatus": delivery.status,
        },
    )


def resume(ctx: StepContext) -> Outcome:
    """A send never waits; a stray wake finds nothing to do."""
    return done(ctx.state.reason)
