"""Dead letters: replay them into the pipeline, or discard them. Used by the admin and the
``replay_dead_letters`` command alike.

A replay keeps the delivery's id: the delivery goes back to ``pending`` with a fresh budget
of attempts and ``relay.deliver.<channel>`` gets a message for it (msg id
``d<delivery>-r<dead letter>``, so replaying the same dead letter twice within the
JetStream duplicate window publishes once). The deliver stage never sends a delivery that
is already in a final state, so replaying something that was in fact delivered sends
nothing: only deliveries still ``failed`` are reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.names import names
from core.publisher import get_publisher
from deliveries import lifecycle
from deliveries.models import DeadLetter, DeliveryStatus
from pipeline.messages import encode

log = structlog.get_logger(__name__)

CHUNK = 500


@dataclass
class ReplayReport:
    replayed: int = 0  # published again for sending
    already_done: int = 0  # the delivery is no longer failed: marked replayed, nothing sent
    unpublished: int = 0  # NATS did not take the message: left as it was, try again later

    def __add__(self, other: ReplayReport) -> ReplayReport:
        return ReplayReport(
            self.replayed + other.replayed,
            self.already_done + other.already_done,
            self.unpublished + other.unpublished,
        )


def open_dead_letters(
    channel: str | None = None,
    reason: str | None = None,
    since: datetime | None = None,
    ids: list[int] | None = None,
) -> QuerySet[DeadLetter]:
    """Dead letters neither replayed nor discarded, narrowed by the given filters."""
    rows = DeadLetter.objects.filter(replayed_at__isnull=True, discarded_at__isnull=True)
    if channel:
        rows = rows.filter(channel=channel)
    if reason:
        rows = rows.filter(reason__icontains=reason)
    if since:
        rows = rows.filter(created_at__gte=since)
    if ids:
        rows = rows.filter(pk__in=ids)
    return rows.order_by("pk")


def replay(dead_letters: QuerySet[DeadLetter]) -> ReplayReport:
    """Replay every open dead letter of the queryset, a chunk at a time."""
    report = ReplayReport()
    ids = list(
        dead_letters.filter(replayed_at__isnull=True, discarded_at__isnull=True).values_list("pk", flat=True)
    )
    for start in range(0, len(ids), CHUNK):
        report += _replay_chunk(ids[start : start + CHUNK])
    log.info("dead_letters_replayed", **vars(report))
    return report


def _replay_chunk(ids: list[int]) -> ReplayReport:
    now = timezone.now()
    with transaction.atomic():
        letters = list(
            DeadLetter.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, replayed_at__isnull=True, discarded_at__isnull=True)
            .select_related("delivery__notification")
        )
        # Only failed deliveries replay; one that was sent meanwhile is already done.
        replayed = set(
            lifecycle.replay(dl.delivery_id for dl in letters if dl.delivery.status == DeliveryStatus.FAILED)
        )
        failed = [dl for dl in letters if dl.delivery_id in replayed]
        DeadLetter.objects.filter(pk__in=[dl.pk for dl in letters]).update(replayed_at=now)
    # Published only after the commit, so the deliver stage finds the delivery pending.
    n = names()
    results = get_publisher().publish_many(
        [
            (
                n.deliver_subject(dl.channel, dl.delivery.notification.subscriber_id),
                encode({"delivery_id": dl.delivery_id}),
                f"d{dl.delivery_id}-r{dl.pk}",
            )
            for dl in failed
        ]
    )
    unpublished = [dl for dl, result in zip(failed, results, strict=True) if isinstance(result, Exception)]
    if unpublished:
        _undo(unpublished)
        error = next(r for r in results if isinstance(r, Exception))
        log.warning("dead_letter_replay_unpublished", count=len(unpublished), error=str(error))
    return ReplayReport(
        replayed=len(failed) - len(unpublished),
        already_done=len(letters) - len(failed),
        unpublished=len(unpublished),
    )


def _undo(letters: list[DeadLetter]) -> None:
    with transaction.atomic():
        lifecycle.unreplay(dl.delivery_id for dl in letters)
        DeadLetter.objects.filter(pk__in=[dl.pk for dl in letters]).update(replayed_at=None)


def discard(dead_letters: QuerySet[DeadLetter]) -> int:
    """Give up on dead letters for good: they stay for audit, marked discarded."""
    count = dead_letters.filter(replayed_at__isnull=True, discarded_at__isnull=True).update(
        discarded_at=timezone.now()
    )
    log.info("dead_letters_discarded", count=count)
    return count
