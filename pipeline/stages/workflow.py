"""Workflow: advance runs, one transaction per run, then publish the deliveries their ``send``
steps made and ack.

Every message is ``{"run_id"}``: from route (a run starts), from the scheduler (a wait came
due) and from the inbox's read path (a read or seen may end a ``waitFor``). What a message
means is decided from the database, never from the message: the engine locks the run and
moves on only what is due, so a redelivered, late or duplicate message costs a look, not a
second send.
"""

from __future__ import annotations

import structlog
from nats.aio.msg import Msg

from core.db import run_db
from deliveries.models import Delivery
from pipeline.context import StageContext
from pipeline.jetstream import publish_all
from pipeline.messages import ids_of
from pipeline.stages.route import Send, decide_sends, dispatch_messages
from workflows.engine import advance
from workflows.steps.base import SendRequest

log = structlog.get_logger(__name__)


def send_for_step(request: SendRequest) -> Delivery:
    """A ``send`` step's delivery, decided by route's own code; a replay finds the one made before."""
    created, _ = decide_sends([Send.of(request)])
    if created:
        return created[0]
    return Delivery.objects.get(notification_id=request.notification.pk, channel=request.channel)


def advance_runs(run_ids: list[int]) -> list[tuple[str, int, int]]:
    """Advance each run; return the (channel, delivery id, subscriber id) to publish.

    A run that stopped on a ``waitFor`` is looked at once more after its commit: a read that
    committed meanwhile found no wait row to wake, and would otherwise wait for the timeout.
    """
    dispatch: list[tuple[str, int, int]] = []
    for run_id in run_ids:
        result = advance(run_id, send_for_step)
        dispatch += result.dispatch
        if result.waits_for_read:
            dispatch += advance(run_id, send_for_step).dispatch
    return dispatch


async def workflow(batch: list[Msg], ctx: StageContext) -> None:
    run_ids, readable = await ids_of(batch, "run_id", "workflow_message_unreadable")
    if not run_ids:
        return
    dispatch = await run_db(advance_runs, list(dict.fromkeys(run_ids)))
    await publish_all(ctx.js, dispatch_messages(ctx, dispatch))
    for msg in readable:
        await msg.ack()
    log.info("workflow_runs_advanced", runs=len(set(run_ids)), dispatched=len(dispatch))
