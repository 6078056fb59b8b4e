"""Quiet-hours arithmetic in the subscriber's wall-clock time, DST transitions included.

Windows are compared on local wall time, and the end is turned back into an instant on the
day it falls, so a window over a DST change still ends at the wall-clock time the
subscriber chose (07:00 is 07:00 the morning after the clocks moved).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

GAP_SEARCH_STEPS = 24  # halvings of the DST gap (at most a few hours) down to well under a second


@dataclass(frozen=True)
class Window:
    """Quiet hours: ``start``..``end`` local time, starting on ``days`` (Monday = 0; empty: daily)."""

    start: time
    end: time
    tz: str
    days: frozenset[int] = frozenset()

    def starts_on(self, day: date) -> bool:
        return not self.days or day.weekday() in self.days


def quiet_until(now: datetime, window: Window) -> datetime | None:
    """When the window holding ``now`` ends (UTC), or None when ``now`` is outside every window."""
    if window.start == window.end:
        return None
    tz = ZoneInfo(window.tz)
    local = now.astimezone(tz)
    wall, today = local.time().replace(tzinfo=None), local.date()
    if window.start < window.end:
        if window.start <= wall < window.end and window.starts_on(today):
            return _instant(today, window.end, tz)
        return None
    # The window crosses midnight: it started today (evening part) or yesterday (morning part).
    if wall >= window.start and window.starts_on(today):
        return _instant(today + timedelta(days=1), window.end, tz)
    if wall < window.end and window.starts_on(today - timedelta(days=1)):
        return _instant(today, window.end, tz)
    return None


def _instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The first instant at which the local clock shows ``wall`` on ``day``, as UTC.

    An ambiguous time (clocks going back) means its first occurrence. A time that does not
    exist (clocks going forward, e.g. 02:30) means the moment of the jump, when the clock
    first shows a later time.
    """
    local = datetime.combine(day, wall, tzinfo=tz)
    early = local.replace(fold=0).astimezone(UTC)
    if early.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return early
    lo, hi = local.replace(fold=1).astimezone(UTC), early
    target = local.replace(tzinfo=None)
    for _ in range(GAP_SEARCH_STEPS):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= target:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0) + (timedelta(seconds=1) if hi.microsecond else timedelta())
