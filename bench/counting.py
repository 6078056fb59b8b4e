"""What arrived, read from the run's own database: the truth for in-app deliveries.

Each phase's events share an ``eventId`` prefix, so one indexed-enough LIKE finds them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Max

from deliveries.models import Delivery, DeliveryStatus
from realtime.models import InboxMessage

DELIVERED = [DeliveryStatus.SENT, DeliveryStatus.DELIVERED]


def delivered_count(prefix: str, channel: str) -> int:
    return Delivery.objects.filter(
        channel=channel, status__in=DELIVERED, notification__event__event_id__startswith=f"{prefix}-"
    ).count()


@dataclass(frozen=True)
class InAppTally:
    per_event: Counter[str]
    inbox_rows: int
    last_sent_at: float


def in_app_tally(prefix: str) -> InAppTally:
    """Delivered in-app per event, the inbox rows behind them, and when the last one was sent."""
    rows = Delivery.objects.filter(
        channel="in_app", status__in=DELIVERED, notification__event__event_id__startswith=f"{prefix}-"
    )
    per_event = Counter(rows.values_list("notification__event__event_id", flat=True))
    last = rows.aggregate(last=Max("sent_at"))["last"]
    inbox = InboxMessage.objects.filter(
        delivery__notification__event__event_id__startswith=f"{prefix}-"
    ).aggregate(n=Count("id"))["n"]
    return InAppTally(per_event, int(inbox or 0), last.timestamp() if last else 0.0)


def lost_and_duplicated(accepted: list[str], per_event: Counter[str]) -> tuple[int, int]:
    """Accepted events that never arrived, and extra arrivals of the same event."""
    accepted_set = set(accepted)
    lost = sum(1 for event_id in accepted_set if not per_event.get(event_id))
    duplicated = sum(n - 1 for event_id, n in per_event.items() if n > 1 and event_id in accepted_set)
    return lost, duplicated
