"""The scheduler: publishes deferred and scheduled deliveries when due, expires overdue ones.

Deferred (quiet hours) and scheduled (``scheduledAt``) deliveries wait in the database with
``not_before``. Each pass claims due rows with ``SELECT ... FOR UPDATE SKIP LOCKED``, marks
them ``pending`` and commits, then publishes them to ``relay.deliver.<channel>``: any
number of schedulers can run side by side, each row is claimed by exactly one of them.
A delivery whose event's ``expiresAt`` has passed before it was sent ends ``suppressed``
with reason ``expired``, whether it was waiting or still retrying.

It also re-dispatches *stranded* deliveries: rows left ``pending`` for longer than
``RELAY_STRANDED_AFTER`` seconds without any change, which is what a crash between a
commit and its publish leaves behind (this scheduler's own, say). The deliver stage skips
anything already sent, so a second message for a live delivery costs a lookup, not a send.

Inbox messages past ``RELAY_INBOX_RETENTION_DAYS`` are deleted a batch per pass
(``realtime.retention``), their counters with them.

Workflow waits (a ``delay``, a ``waitFor`` timeout) are claimed the same way
(``workflows.waits``) and wake their runs on ``relay.workflow.run``; so are runs a crash left
``running`` without a message. Snoozed inbox messages whose time has come are woken the same
way too (``realtime.snooze``) and pushed to their subscriber's open sockets.

Status events a crash left unpublished between their commit and their publish
(``webhooks.outbox``) are published here once ``RELAY_STATUS_REPUBLISH_AFTER`` old.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from nats.js import JetStreamContext

from core import nats_client
from core.db import run_db
from core.names import Names, names
from deliveries import lifecycle
from deliveries.models import Delivery, DeliveryStatus
from pipeline.jetstream import Outgoing, publish_all
from pipeline.liveness import liveness
from pipeline.messages import encode
from pipeline.runner import ensure_streams, install_stop_signals
from realtime import retention
from realtime.snooze import resurface_due
from webhooks import outbox
from workflows import waits

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    channel: str
    subscriber_id: int
    status: str
    not_before: datetime

    @property
    def msg_id(self) -> str:
        # Distinct from route's "d{id}", so JetStream's dedup window does not drop the send.
        return f"d{self.delivery_id}-s{int(self.not_before.timestamp())}"


@dataclass
class PassResult:
    published: int = 0
    expired: int = 0
    redispatched: int = 0
    woken: int = 0  # workflow runs
    purged: int = 0  # inbox messages past retention
    resurfaced: int = 0  # snoozed inbox messages
    republished: int = 0  # status events a crash left unpublished

    @property
    def idle(self) -> bool:
        return not (
            self.published
            or self.expired
            or self.redispatched
            or self.woken
            or self.purged
            or self.resurfaced
            or self.republished
        )


def expire_overdue(now: datetime, limit: int) -> int:
    """Suppress (reason ``expired``) unsent deliveries whose event expired; one batch."""
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=lifecycle.UNSENT, notification__event__expires_at__lte=now)
            .values_list("pk", flat=True)[:limit]
        )
        return len(lifecycle.expire(ids))


def claim_due(now: datetime, limit: int) -> list[Claimed]:
    """Lock up to ``limit`` due rows no other scheduler holds, set them pending, commit."""
    not_expired = Q(notification__event__expires_at__isnull=True) | Q(notification__event__expires_at__gt=now)
    with transaction.atomic():
        claimed = [
            Claimed(*row)
            for row in Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(not_expired, status__in=lifecycle.WAITING, not_before__lte=now)
            .order_by("not_before", "pk")
            .values_list("pk", "channel", "notification__subscriber_id", "status", "not_before")[:limit]
        ]
        released = set(lifecycle.release_due(c.delivery_id for c in claimed))
    return [c for c in claimed if c.delivery_id in released]


def claim_stranded(now: datetime, limit: int) -> list[Claimed]:
    """Pending rows untouched for ``RELAY_STRANDED_AFTER`` seconds; touched so one pass takes them."""
    cutoff = now - timedelta(seconds=float(settings.RELAY_STRANDED_AFTER))
    with transaction.atomic():
        claimed = [
            Claimed(pk, channel, subscriber_id, DeliveryStatus.PENDING, now)
            for pk, channel, subscriber_id in Delivery.objects.select_for_update(
                skip_locked=True, of=("self",)
            )
            .filter(status=DeliveryStatus.PENDING, updated_at__lt=cutoff)
            .order_by("updated_at", "pk")
            .values_list("pk", "channel", "notification__subscriber_id")[:limit]
        ]
        redispatched = set(lifecycle.redispatch(c.delivery_id for c in claimed))
    return [c for c in claimed if c.delivery_id in redispatched]


def release(claimed: list[Claimed]) -> None:
    """Put claimed rows back to waiting when their publish failed, so the next pass retries."""
    lifecycle.requeue((c.delivery_id, c.status) for c in claimed)


async def scheduler_pass(js: JetStreamContext, n: Names, batch: int) -> PassResult:
    now = timezone.now()
    result = PassResult(expired=await run_db(expire_overdue, now, batch))
    claimed = await run_db(claim_due, now, batch)
    stranded = await run_db(claim_stranded, now, batch)
    try:
        await publish_all(
            js,
            (
                Outgoing(
                    n.deliver_subject(c.channel, c.subscriber_id),
                    encode({"delivery_id": c.delivery_id}),
                    c.msg_id,
                )
                for c in claimed + stranded
            ),
        )
    except Exception:
        await run_db(release, claimed)
        raise
    result.published, result.redispatched = len(claimed), len(stranded)
    result.woken = await wake_runs(js, n, now, batch)
    result.purged = await run_db(retention.purge_expired, now, batch)
    result.resurfaced = await resurface_snoozed(now, batch)
    result.republished = await republish_status_events(js, n, now, batch)
    if not result.idle:
        log.info(
            "scheduler_pass",
            published=result.published,
            expired=result.expired,
            redispatched=result.redispatched,
            woken=result.woken,
            purged=result.purged,
            resurfaced=result.resurfaced,
            republished=result.republished,
        )
    return result


async def republish_status_events(js: JetStreamContext, n: Names, now: datetime, batch: int) -> int:
    """Publish the status events left unpublished after their commit (same ``Nats-Msg-Id``)."""
    rows = await run_db(outbox.stranded, now, batch)
    if not rows:
        return 0
    await publish_all(js, (Outgoing(*item) for item in outbox.items(rows, n)))
    await run_db(outbox.mark_published, [pk for pk, _ in rows])
    return len(rows)


async def wake_runs(js: JetStreamContext, n: Names, now: datetime, batch: int) -> int:
    """Publish the runs whose waits are due, or that a crash stranded.

    A claimed wait is leased, not removed: if this publish fails, it is due again after
    ``RELAY_WAIT_LEASE`` seconds.
    """
    runs = await run_db(waits.claim_due_waits, now, batch)
    runs += await run_db(waits.claim_stranded_runs, now, batch)
    stamp = int(now.timestamp() * 1000)
    await publish_all(
        js, (Outgoing(n.workflow_subject, encode({"run_id": rid}), f"w{rid}-{stamp}") for rid in runs)
    )
    return len(runs)


async def resurface_snoozed(now: datetime, batch: int) -> int:
    """Bring back the snoozed messages that are due, then push each to its subscriber's sockets
    (best effort, as every inbox push: a client re-reads the inbox on reconnect)."""
    pushes = await run_db(resurface_due, now, batch)
    layer = get_channel_layer()
    for group, message in pushes:
        try:
            await layer.group_send(group, message)
        except Exception as error:
            log.warning("inbox_push_failed", group=group, error=str(error))
    return len(pushes)


async def run_scheduler(
    stop: asyncio.Event, once: bool = False, batch: int | None = None, interval: float | None = None
) -> PassResult:
    """Run passes until ``stop`` (or, with ``once``, until nothing is due); return the totals."""
    batch = batch or int(settings.RELAY_SCHEDULER_BATCH)
    interval = float(settings.RELAY_SCHEDULER_INTERVAL) if interval is None else interval
    totals = PassResult()
    nc = await nats_client.connect("relay-scheduler")
    try:
        js, n = nc.jetstream(), names()
        log.info("scheduler_started", batch=batch, once=once)
        while not stop.is_set():
            liveness().beat("scheduler")
            try:
                result = await scheduler_pass(js, n, batch)
            except Exception:
                if once:
                    raise
                log.exception("scheduler_pass_failed")
                result = PassResult()
            totals.published += result.published
            totals.expired += result.expired
            totals.redispatched += result.redispatched
            totals.woken += result.woken
            totals.purged += result.purged
            totals.resurfaced += result.resurfaced
            totals.republished += result.republished
            if result.idle:
                if once:
                    break
                try:
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                except TimeoutError:
                    pass
    finally:
        liveness().leave("scheduler")
        await nc.close()
    return totals


async def serve_scheduler(once: bool = False, batch: int | None = None) -> PassResult:
    """The ``scheduler`` command: streams ready, stop signals installed, then the loop."""
    stop = asyncio.Event()
    install_stop_signals(stop)
    await ensure_streams()
    return await run_scheduler(stop, once=once, batch=batch)
