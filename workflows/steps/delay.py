"""``delay``: wait for a duration, until a time in the payload, or until the next occurrence of a
cron expression in the subscriber's time zone (``"HH:MM"`` arrives normalized to a cron).

The wait is a ``Wait`` row; the scheduler wakes the run when it is due, whatever restarted
meanwhile.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from workflows import conditions
from workflows.models import RunStatus, StepStatus
from workflows.steps.base import Outcome, StepContext, done, wait

# A cron expression that matches nothing for this many candidates is given up on (Feb 30th).
MAX_CANDIDATES = 1000


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def next_occurrence(cron: str, tz_name: str, after: datetime) -> datetime | None:
    """The first moment after ``after`` at which ``cron`` matches the wall clock in ``tz_name``.

    The expression is matched against local wall time (croniter on naive datetimes), so
    ``0 9 * * *`` is 09:00 local on both sides of a DST change. A wall time the change skips
    (02:30 on a spring-forward night) is read with the offset before the change, which lands
    it just after the gap (03:30); a repeated one (fall-back) counts once, at its first occurrence.
    """
    tz = zone(tz_name)
    local = after.astimezone(tz).replace(tzinfo=None)
    candidates = croniter(cron, local)
    for _ in range(MAX_CANDIDATES):
        moment = candidates.get_next(datetime).replace(tzinfo=tz)
        if moment > after:
            return moment.astimezone(UTC)
    return None


def _payload_time(ctx: StepContext, path: str) -> datetime | None:
    value = conditions.resolve(path, ctx.data())
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def start(ctx: StepContext) -> Outcome:
    config = ctx.config
    if "duration" in config:
        until: datetime | None = ctx.now + timedelta(seconds=int(config["duration"]))
    elif "until" in config:
        until = _payload_time(ctx, str(config["until"]))
        if until is None:
            return Outcome(
                StepStatus.FAILED,
                "invalid_until",
                values={"until": config["until"]},
                end_run=RunStatus.FAILED,
            )
    else:
        until = next_occurrence(str(config["at"]), ctx.subscriber.timezone, ctx.now)
        if until is None:
            return Outcome(
                StepStatus.FAILED, "invalid_at", values={"at": config["at"]}, end_run=RunStatus.FAILED
            )
    assert until is not None
    return done("elapsed") if until <= ctx.now else wait(until, "delay")


def resume(ctx: StepContext) -> Outcome:
    until = ctx.state.waiting_until
    if until is None or until <= ctx.now:
        return done("elapsed")
    return wait(until, "delay")
