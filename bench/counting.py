"""What arrived, read from the run's own database: the truth for in-app deliveries.

Each phase's events share an ``eventId`` prefix, so one indexed-enough LIKE finds them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

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


@dataclass
class Accounting:
    """Every phase's accepted eventIds against what arrived, summed into the run's lost and
    duplicated; and how many events were offered and not accepted."""

    arrivals: list[tuple[list[str], Counter[str]]] = field(default_factory=list)
    tallies: list[InAppTally] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    offered: int = 0
    rejected: int = 0

    def add_in_app(self, accepted: list[str], tally: InAppTally, offered: int, duplicated: int = 0) -> None:
        """A phase's in-app events: ``duplicated`` counts what the tally cannot see (frames)."""
        self.arrivals.append((accepted, tally.per_event))
        self.tallies.append(tally)
        self.offered += offered
        self.rejected += offered - len(accepted)
        self.duplicated += duplicated

    def add_email(self, accepted: list[str], per_event: dict[str, int]) -> None:
        self.arrivals.append((accepted, Counter(per_event)))

    def add_counted(self, offered: int, lost: int, duplicated: int) -> None:
        """A phase that counted its own (the workflow phase)."""
        self.offered += offered
        self.lost += lost
        self.duplicated += duplicated

    def settled(self) -> tuple[int, int]:
        """(lost, duplicated) over every phase: an inbox row beyond the deliveries is a duplicate."""
        lost, duplicated = self.lost, self.duplicated
        for accepted, per_event in self.arrivals:
            phase_lost, phase_duplicated = lost_and_duplicated(accepted, per_event)
            lost, duplicated = lost + phase_lost, duplicated + phase_duplicated
        for tally in self.tallies:
            duplicated += max(0, tally.inbox_rows - sum(tally.per_event.values()))
        return lost, duplicated
