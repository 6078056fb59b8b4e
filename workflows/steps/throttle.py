"""``throttle``: at most ``limit`` runs per ``window`` seconds per key per subscriber.

The runs let through are ``ThrottleSlot`` rows, counted and added with the subscriber's row
locked, so two runs of one subscriber checked at once (two workers) cannot both take the last
slot. The others end ``throttled``. The slot commits with the step, so a redelivered message
finds the step done and does not count twice.
"""

from __future__ import annotations

from datetime import timedelta

from notifications.models import Subscriber
from workflows import conditions
from workflows.models import RunStatus, StepStatus, ThrottleSlot
from workflows.steps.base import Outcome, StepContext, done


def start(ctx: StepContext) -> Outcome:
    config = ctx.config
    limit, window = int(config["limit"]), int(config["window"])
    key_path = config.get("key")
    key = str(conditions.resolve(str(key_path), ctx.data())) if key_path else ""
    list(Subscriber.objects.select_for_update().filter(pk=ctx.subscriber.pk).values_list("pk"))
    slots = ThrottleSlot.objects.filter(
        workflow_id=ctx.run.version.workflow_id,
        subscriber_id=ctx.subscriber.pk,
        step_id=ctx.state.step_id,
        key=key[:200],
    )
    taken = slots.filter(at__gt=ctx.now - timedelta(seconds=window)).count()
    values = {"limit": limit, "window": window, "key": key, "count": taken}
    if taken >= limit:
        return Outcome(StepStatus.THROTTLED, "throttled", values=values, end_run=RunStatus.THROTTLED)
    ThrottleSlot.objects.create(
        workflow_id=ctx.run.version.workflow_id,
        subscriber_id=ctx.subscriber.pk,
        step_id=ctx.state.step_id,
        key=key[:200],
        run=ctx.run,
        at=ctx.now,
    )
    return done(values=values)


def resume(ctx: StepContext) -> Outcome:
    """A throttle never waits; a stray wake finds nothing to do."""
    return done(ctx.state.reason)
