"""The one place that decides whether, when and where a notification goes.

Every decision carries a reason, stored on the delivery, so "why did (not) this user get
this?" is answered from the database. The rules run in a fixed order, the first that
applies wins:

1. global opt-out (``opted_out``), 2. channel opt-out (``channel_opted_out``),
3. event type x channel: the subscriber's own row (``event_type_opted_out``), else the
   admin's default (``disabled_by_default``; ``urgent`` events ignore a default),
4. missing address (``no_address``), 5. dedup (``duplicate``), 6. rate limit
(``rate_limited``; ``urgent`` bypasses), 7. quiet hours (defer, ``quiet_hours``; ``urgent``
bypasses).

Rules 1-4 and 7 are pure functions of facts loaded in bulk per batch; 5 and 6 keep state
(Redis, or the database) and are asked once per batch through the ``Gates`` they are given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal

from django.utils import timezone

from notifications.models import Event, Subscriber
from preferences.models import ANY
from preferences.quiet_hours import Window, quiet_until

Action = Literal["send", "suppress", "defer"]
PairKey = tuple[int, str]  # (notification id, channel): one delivery


@dataclass(frozen=True)
class Decision:
    """What to do, why (a ``deliveries.reasons.Reason`` value) and which rule said so."""

    action: Action
    reason: str = ""
    until: datetime | None = None
    rule: str = ""


SEND = Decision("send")


@dataclass(frozen=True)
class Choice:
    """One preference row, reduced to what deciding needs."""

    enabled: bool
    quiet_start: time | None = None
    quiet_end: time | None = None


@dataclass(frozen=True)
class RoutingFacts:
    """What the route stage loaded in bulk for a batch, so deciding costs no queries."""

    # (subscriber id, channel) pairs the channel has an address (or a device) for: the
    # channel modules say how to find one, the stage asks them and hands the answer in here.
    reachable: frozenset[tuple[int, str]] = frozenset()
    # subscriber id -> (channel, event type) -> the subscriber's explicit choice
    choices: dict[int, dict[tuple[str, str], Choice]] = field(default_factory=dict)
    # subscriber id -> their quiet-hours window (time zone already resolved)
    quiet_hours: dict[int, Window] = field(default_factory=dict)
    # (channel, event type) -> enabled, as configured in the admin
    defaults: dict[tuple[str, str], bool] = field(default_factory=dict)
    now: datetime = field(default_factory=timezone.now)


@dataclass(frozen=True)
class Candidate:
    notification_id: int
    event: Event
    subscriber: Subscriber
    channel: str

    @property
    def key(self) -> PairKey:
        return (self.notification_id, self.channel)

    @property
    def urgent(self) -> bool:
        return self.event.priority == "urgent"


@dataclass(frozen=True)
class Gates:
    """The stateful rules: which pairs were decided before, which exceed their rate limit."""

    duplicates: Callable[[list[PairKey]], set[PairKey]]
    over_limit: Callable[[list[Candidate], datetime], set[PairKey]]


def _specific_first(channel: str, event_type: str) -> tuple[tuple[str, str], ...]:
    return ((channel, event_type), (ANY, event_type), (channel, ANY), (ANY, ANY))


def preference_decision(event: Event, subscriber: Subscriber, channel: str, facts: RoutingFacts) -> Decision:
    """Rules 1-4: opt-outs, the event type's preference or default, the address."""
    mine = facts.choices.get(subscriber.pk, {})
    if not mine.get((ANY, ANY), Choice(True)).enabled:
        return Decision("suppress", "opted_out", rule="global_opt_out")
    if not mine.get((channel, ANY), Choice(True)).enabled:
        return Decision("suppress", "channel_opted_out", rule="channel_opt_out")
    explicit = mine.get((channel, event.event_type)) or mine.get((ANY, event.event_type))
    if explicit is not None:
        if not explicit.enabled:
            return Decision("suppress", "event_type_opted_out", rule="event_type_preference")
    elif event.priority != "urgent":
        default = facts.defaults.get((channel, event.event_type), facts.defaults.get((ANY, event.event_type)))
        if default is False:
            return Decision("suppress", "disabled_by_default", rule="event_type_default")
    if (subscriber.pk, channel) not in facts.reachable:
        return Decision("suppress", "no_address", rule="address")
    return SEND


def quiet_hours_window(
    subscriber: Subscriber, channel: str, event_type: str, facts: RoutingFacts
) -> Window | None:
    """A preference row's own window wins over the subscriber's, most specific row first."""
    own = facts.quiet_hours.get(subscriber.pk)
    mine = facts.choices.get(subscriber.pk, {})
    for key in _specific_first(channel, event_type):
        choice = mine.get(key)
        if choice is not None and choice.quiet_start is not None and choice.quiet_end is not None:
            tz = own.tz if own is not None else subscriber.timezone
            return Window(choice.quiet_start, choice.quiet_end, tz or "UTC")
    return own


def quiet_hours_decision(candidate: Candidate, facts: RoutingFacts) -> Decision:
    """Rule 7: defer until the window ends; urgent events go now.

    A scheduled event is judged at its send time, not at the time it was routed.
    """
    if candidate.urgent:
        return SEND
    window = quiet_hours_window(candidate.subscriber, candidate.channel, candidate.event.event_type, facts)
    moment = max(facts.now, candidate.event.scheduled_at or facts.now)
    until = quiet_until(moment, window) if window is not None else None
    return Decision("defer", "quiet_hours", until, rule="quiet_hours") if until is not None else SEND


def decide_all(candidates: Iterable[Candidate], facts: RoutingFacts, gates: Gates) -> dict[PairKey, Decision]:
    """Decide a whole batch: pure rules per pair, then one call per stateful rule."""
    decisions: dict[PairKey, Decision] = {}
    remaining: list[Candidate] = []
    for candidate in candidates:
        decision = preference_decision(candidate.event, candidate.subscriber, candidate.channel, facts)
        if decision.action == "suppress":
            decisions[candidate.key] = decision
        else:
            remaining.append(candidate)
    duplicates = gates.duplicates([c.key for c in remaining]) if remaining else set()
    for key in duplicates:
        decisions[key] = Decision("suppress", "duplicate", rule="dedup")
    remaining = [c for c in remaining if c.key not in duplicates]
    limited = gates.over_limit([c for c in remaining if not c.urgent], facts.now)
    for candidate in remaining:
        if candidate.key in limited:
            decisions[candidate.key] = Decision("suppress", "rate_limited", rule="rate_limit")
        else:
            decisions[candidate.key] = quiet_hours_decision(candidate, facts)
    return decisions
