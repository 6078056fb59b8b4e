"""Reads of the preferences app: the routing facts of a batch, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from django.utils import timezone

from core.rows import JoinedRead, Table
from notifications.models import Subscriber
from preferences.engine import Choice, RoutingFacts
from preferences.models import ANY, EventTypeDefault, Preference, QuietHours
from preferences.quiet_hours import Window


def _quiet_hours(subscribers: Collection[Subscriber], ids: set[int]) -> Iterable[QuietHours]:
    """The subscribers' quiet hours: already on them when the caller loaded them with
    ``select_related("subscriber__quiet_hours")`` (route does: one query fewer per batch),
    else read in one query."""
    relation = Subscriber.quiet_hours.related
    if all(relation.is_cached(s) for s in subscribers):
        return [q for s in subscribers if (q := relation.get_cached_value(s)) is not None]
    return QuietHours.objects.filter(subscriber_id__in=ids)


# Written-out reads (core/rows.py): compiling them per batch cost route more than running them.
PREFERENCES = JoinedRead([Table(Preference, "p")], "{p}", "p.subscriber_id", "p.event_type")
DEFAULTS = JoinedRead([Table(EventTypeDefault, "d")], "{d}", "d.event_type")


def _preferences(ids: set[int], types: set[str]) -> Iterable[tuple[Any, ...]]:
    for (row,) in PREFERENCES.fetch(ids, types):
        assert isinstance(row, Preference)
        yield (
            row.subscriber_id,
            row.channel,
            row.event_type,
            row.enabled,
            row.quiet_hours_start,
            row.quiet_hours_end,
        )


def _defaults(types: set[str]) -> Iterable[tuple[str, str, bool]]:
    for (row,) in DEFAULTS.fetch(types):
        assert isinstance(row, EventTypeDefault)
        yield row.event_type, row.channel, row.enabled


def routing_facts(
    subscribers: Collection[Subscriber],
    event_types: Collection[str],
    reachable: frozenset[tuple[int, str]],
) -> RoutingFacts:
    """Preferences, quiet hours and defaults of a batch: at most three queries, whatever its
    size. ``reachable`` (which subscriber has an address on which channel) comes from the
    channel modules, through the caller."""
    ids = {s.pk for s in subscribers}
    zones = {s.pk: s.timezone for s in subscribers}
    types = {*event_types, ANY}
    choices: dict[int, dict[tuple[str, str], Choice]] = {}
    for sid, channel, event_type, enabled, start, end in _preferences(ids, types):
        choices.setdefault(sid, {})[(channel, event_type)] = Choice(enabled, start, end)
    quiet = {
        q.subscriber_id: Window(
            q.start, q.end, q.timezone or zones[q.subscriber_id] or "UTC", frozenset(q.days)
        )
        for q in _quiet_hours(subscribers, ids)
        if q.enabled
    }
    defaults = {(channel, event_type): enabled for event_type, channel, enabled in _defaults(types)}
    return RoutingFacts(
        reachable=reachable,
        choices=choices,
        quiet_hours=quiet,
        defaults=defaults,
        now=timezone.now(),
    )
