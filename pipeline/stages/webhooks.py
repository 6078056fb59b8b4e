"""Webhooks: status events from ``relay.status.>`` fanned out to the endpoints that want them.

Every message is ``{"status_event_id"}`` (webhooks.outbox). The fan-out writes one row per
(endpoint, status event), unique, commits, then acks; a redelivered message finds its rows
there already. The POSTs, their retries and the log are the dispatcher's
(``webhooks.dispatch``), which runs beside this stage and is woken when new rows are due.
"""

from __future__ import annotations

import structlog
from nats.aio.msg import Msg

from core.db import run_db
from pipeline.context import StageContext
from pipeline.messages import ids_of
from webhooks.dispatch import nudge
from webhooks.fanout import fan_out

log = structlog.get_logger(__name__)


async def webhooks(batch: list[Msg], ctx: StageContext) -> None:
    ids, readable = await ids_of(batch, "status_event_id", "status_message_unreadable")
    created = await run_db(fan_out, ids) if ids else 0
    for msg in readable:
        await msg.ack()
    if created:
        nudge()
    log.info("status_events_fanned_out", events=len(ids), messages=created)
