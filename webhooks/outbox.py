"""The outbox of status events: written in the transaction of the change they report, then
published to JetStream (``relay.status.<type>``) once that transaction commits.

A crash between the commit and the publish leaves the rows ``published=False``; the scheduler
publishes them (``publish_stranded``) once they are ``RELAY_STATUS_REPUBLISH_AFTER`` old. The
``Nats-Msg-Id`` is the row's id, and the webhooks stage fans each event out once per endpoint
(a unique row), so a second publish of the same event can never become a second message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.names import Names, names
from core.publisher import Item, get_publisher
from webhooks.models import StatusEvent

log = structlog.get_logger(__name__)


def record(events: Sequence[tuple[str, dict[str, Any]]], at: datetime | None = None) -> None:
    """Write ``(type, data)`` status events in the caller's transaction; publish after commit."""
    if not events:
        return
    now = at or timezone.now()
    rows = StatusEvent.objects.bulk_create(
        [StatusEvent(type=kind, data=data, occurred_at=now) for kind, data in events]
    )
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: publish(ids))


def items(rows: Sequence[tuple[int, str]], n: Names) -> list[Item]:
    """``(id, type)`` rows as JetStream messages: ``{"status_event_id"}`` with the id as msg id."""
    return [(n.status_subject(kind), orjson.dumps({"status_event_id": pk}), f"s{pk}") for pk, kind in rows]


def publish(ids: list[int]) -> None:
    """Publish committed rows and mark those JetStream stored; any left over the scheduler takes."""
    rows = list(StatusEvent.objects.filter(pk__in=ids).values_list("pk", "type"))
    try:
        results = get_publisher().publish_many(items(rows, names()))
    except Exception as error:  # the commit stands; the scheduler publishes later
        log.warning("status_events_unpublished", events=len(rows), error=str(error))
        return
    mark_published(
        [pk for (pk, _), result in zip(rows, results, strict=True) if not isinstance(result, Exception)]
    )


def mark_published(ids: list[int]) -> None:
    if ids:
        StatusEvent.objects.filter(pk__in=ids).update(published=True)


def stranded(now: datetime, limit: int) -> list[tuple[int, str]]:
    """Rows still unpublished ``RELAY_STATUS_REPUBLISH_AFTER`` seconds after they were written."""
    cutoff = now - timedelta(seconds=float(settings.RELAY_STATUS_REPUBLISH_AFTER))
    return list(
        StatusEvent.objects.filter(published=False, occurred_at__lt=cutoff)
        .order_by("id")
        .values_list("pk", "type")[:limit]
    )
