"""``waitFor``: wait until the in-app message of an earlier ``send`` step is read (or seen), or
until ``timeout`` seconds have passed.

The wait names the delivery, so a read or seen of its message (over the API or the WebSocket)
wakes the run at once (``workflows.wake``); the timeout is a ``Wait`` row like any delay. The
message's state is read from the inbox when the step runs and each time it is woken. A send
step that made no message (skipped, suppressed, failed) has nothing to wait for: the step ends
at once with ``no_message``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from deliveries.models import DeliveryStatus
from realtime.models import InboxMessage
from workflows.steps.base import Outcome, StepContext, done, wait

NO_MESSAGE = (DeliveryStatus.SUPPRESSED, DeliveryStatus.FAILED)


def _delivery_id(ctx: StepContext) -> int | None:
    target = ctx.states.get(str(ctx.config["step"]))
    if target is None or target.delivery is None or target.delivery.status in NO_MESSAGE:
        return None
    return target.delivery.pk


def _check(ctx: StepContext, delivery_id: int, until: datetime) -> Outcome:
    wanted = str(ctx.config["until"])  # "read" or "seen"
    reached = InboxMessage.objects.filter(delivery_id=delivery_id, **{f"{wanted}_at__isnull": False}).exists()
    if reached:
        return done(wanted)
    if until <= ctx.now:
        return done("timeout")
    return wait(until, f"until_{wanted}", wake_on=delivery_id)


def start(ctx: StepContext) -> Outcome:
    delivery_id = _delivery_id(ctx)
    if delivery_id is None:
        return done("no_message")
    return _check(ctx, delivery_id, ctx.now + timedelta(seconds=int(ctx.config["timeout"])))


def resume(ctx: StepContext) -> Outcome:
    delivery_id = _delivery_id(ctx)
    if delivery_id is None or ctx.state.waiting_until is None:
        return done("no_message")
    return _check(ctx, delivery_id, ctx.state.waiting_until)
