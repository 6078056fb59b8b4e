"""``digest``: collect the events of one key into a window, then carry one run on with them all.

Membership is decided by one statement: an ``INSERT ... ON CONFLICT DO UPDATE`` on the one
open window of (workflow, step, subscriber, key) (a partial unique index), which either opens
the window or joins it and counts the event. PostgreSQL serializes concurrent upserts on that
row, so events arriving in the same second from several workers join the same window, each
with its own position; no window is ever opened twice (Novu's duplicate digests, #2569) and
the key is always part of it (#3893).

Exactly one run per window carries the digest on:

- the run that opened the window owns it and waits (a ``Wait`` row, due when the window
  closes); woken by the scheduler, it closes the window and goes on with the digest;
- a window that reaches ``maxItems`` is closed at once by the run that filled it, which goes
  on instead; the owner's wait is made due now, and it ends ``digested`` when woken;
- every other run ends ``digested`` (run status and reason), its step's values naming the
  window and its owner.

A cancelled owner (``POST /api/workflows/cancel``) gives its window up: the next event of the
key takes it over and carries the events joined so far, the cancelled ones left out. A run
that ended ``digested`` has ended, so a cancellation no longer reaches it.

Variants: ``maxWait`` makes a ``window`` sliding (each event pushes the close out by
``window``, never past first event + ``maxWait``); ``at`` closes at the next occurrence of a
cron in the subscriber's time zone. ``flushLeading`` lets the run that opens a window go on at
once with a digest of its own event, the next event's run owning the rest; ``lookback`` does
the same for the opening run when no event of the key arrived within ``lookback`` before it.

Later steps see ``digest.count``, ``digest.events`` (the payloads of the first and last
``keep`` events, in order) and ``digest.actors`` (the distinct ``payload.actor``, else
``payload.actorId``, in order of first appearance, at most ``MAX_ACTORS``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import F, Min
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from workflows import conditions
from workflows.models import LIVE_RUN_STATUSES, DigestMember, DigestWindow, Run, RunStatus, StepStatus, Wait
from workflows.steps.base import Outcome, StepContext, done
from workflows.steps.delay import next_occurrence

MAX_ACTORS = 100
OPEN, CLOSED = DigestWindow.Status.OPEN, DigestWindow.Status.CLOSED

_WINDOWS = DigestWindow._meta.db_table
_RUNS = Run._meta.db_table
_KEY_MATCH = (
    "workflow_id = %(workflow)s AND step_id = %(step)s AND subscriber_id = %(subscriber)s AND key = %(key)s"
)

# Windows nobody will carry any more: an ownerless one past its close (its only event went on
# at once) closes; one whose owner ended (cancelled) loses its owner, so this event takes it
# over and its members are still carried.
_RELEASE = f"""
UPDATE {_WINDOWS} SET
    status = CASE WHEN owner_run_id IS NULL THEN '{CLOSED}' ELSE status END,
    closed_at = CASE WHEN owner_run_id IS NULL THEN %(now)s ELSE closed_at END,
    owner_run_id = NULL
WHERE {_KEY_MATCH} AND status = '{OPEN}' AND (
    (owner_run_id IS NULL AND closes_at <= %(now)s)
    OR EXISTS (SELECT 1 FROM {_RUNS} r WHERE r.id = owner_run_id AND r.status <> ALL(%(live)s)))
"""

# Open the window, or join it: the whole membership decision in one atomic statement.
_JOIN = f"""
INSERT INTO {_WINDOWS} AS w (workflow_id, step_id, subscriber_id, key, status, count, opened_at,
    closes_at, latest_close, last_event_at, owner_run_id, leading_run_id)
VALUES (%(workflow)s, %(step)s, %(subscriber)s, %(key)s, '{OPEN}', 1, %(now)s,
    %(closes)s, %(latest)s, %(now)s, %(owner)s, %(leading)s)
ON CONFLICT (workflow_id, step_id, subscriber_id, key) WHERE status = '{OPEN}' DO UPDATE SET
    count = w.count + 1,
    last_event_at = GREATEST(w.last_event_at, EXCLUDED.last_event_at),
    owner_run_id = COALESCE(w.owner_run_id, %(run)s),
    closes_at = CASE WHEN w.latest_close IS NULL THEN w.closes_at
                     ELSE GREATEST(w.closes_at, LEAST(%(slide)s, w.latest_close)) END
RETURNING id, xmax = 0, count, owner_run_id, leading_run_id
"""


def _key(ctx: StepContext) -> str:
    path = ctx.config.get("key")
    if not path:
        return ""
    value = conditions.resolve(str(path), ctx.data())
    return "" if value is None else str(value)[:200]


def _closes(ctx: StepContext) -> tuple[datetime | None, datetime | None]:
    """When a window opened now closes, and a sliding window's limit; None: the cron never matches."""
    config = ctx.config
    if "at" in config:
        return next_occurrence(str(config["at"]), ctx.subscriber.timezone, ctx.now), None
    closes = ctx.now + timedelta(seconds=int(config["window"]))
    if "maxWait" not in config:
        return closes, None
    latest = ctx.now + timedelta(seconds=int(config["maxWait"]))
    return min(closes, latest), latest


def _quiet(ctx: StepContext, params: dict[str, Any]) -> bool:
    """``lookback`` is set and no event of this key arrived within it."""
    lookback = ctx.config.get("lookback")
    if not lookback:
        return False
    return not DigestWindow.objects.filter(
        workflow_id=params["workflow"],
        step_id=params["step"],
        subscriber_id=params["subscriber"],
        key=params["key"],
        last_event_at__gte=ctx.now - timedelta(seconds=int(lookback)),
    ).exists()


def _actor(payload: Any) -> Any:
    if not isinstance(payload, dict):
        return None
    return payload.get("actor", payload.get("actorId"))


def _digest(window: DigestWindow, keep: int) -> dict[str, Any]:
    """What later steps see of a closed window: its count, first and last events, actors."""
    members = DigestMember.objects.filter(
        window=window, position__gt=1 if window.leading_run_id else 0
    ).exclude(run__status=RunStatus.CANCELLED)
    payload = "run__notification__event__data"
    first = list(members.order_by("position").values_list("position", payload)[:keep])
    last = list(members.order_by("-position").values_list("position", payload)[:keep])
    seen = {position for position, _ in first}
    events = [data for _, data in first] + [data for position, data in reversed(last) if position not in seen]
    actors = (
        members.annotate(payload=F(payload))
        .annotate(actor=Coalesce(KT("payload__actor"), KT("payload__actorId")))
        .filter(actor__isnull=False)
        .values("actor")
        .annotate(first=Min("position"))
        .order_by("first")
        .values_list("actor", flat=True)[:MAX_ACTORS]
    )
    return {"count": members.count(), "events": events, "actors": list(actors)}


def _carry(ctx: StepContext, digest: dict[str, Any], reason: str, values: dict[str, Any]) -> Outcome:
    ctx.run.context = {**ctx.run.context, "digest": digest}
    return done(reason, values={**values, "count": digest["count"]})


def _close(ctx: StepContext, window: DigestWindow, reason: str, values: dict[str, Any]) -> Outcome:
    """This run closes the window and carries its digest on."""
    DigestWindow.objects.filter(pk=window.pk).update(status=CLOSED, closed_at=ctx.now, carrier_run=ctx.run)
    window.carrier_run_id = ctx.run.pk
    return _carry(ctx, _digest(window, int(ctx.config.get("keep", 10))), reason, values)


def _digested(values: dict[str, Any]) -> Outcome:
    return Outcome(StepStatus.DONE, "digested", values=values, end_run=RunStatus.DIGESTED)


def _actors_of(ctx: StepContext) -> list[Any]:
    actor = _actor(ctx.event.data)
    return [] if actor is None else [actor]


def start(ctx: StepContext) -> Outcome:
    closes, latest = _closes(ctx)
    if closes is None:
        return Outcome(
            StepStatus.FAILED, "invalid_at", values={"at": ctx.config["at"]}, end_run=RunStatus.FAILED
        )
    window_size = int(ctx.config.get("window", 0))
    params: dict[str, Any] = {
        "workflow": ctx.run.version.workflow_id,
        "step": ctx.state.step_id,
        "subscriber": ctx.subscriber.pk,
        "key": _key(ctx),
        "now": ctx.now,
        "live": [str(status) for status in LIVE_RUN_STATUSES],
    }
    leading = bool(ctx.config.get("flushLeading")) or _quiet(ctx, params)
    params |= {
        "closes": closes,
        "latest": latest,
        "slide": ctx.now + timedelta(seconds=window_size),
        "run": ctx.run.pk,
        "owner": None if leading else ctx.run.pk,
        "leading": ctx.run.pk if leading else None,
    }
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE, params)
        cursor.execute(_JOIN, params)
        window_id, opened, count, owner_id, leading_id = cursor.fetchone()
    DigestMember.objects.create(window_id=window_id, run=ctx.run, position=count)
    values = {"window": window_id, "key": params["key"], "position": count, "owner": owner_id}
    if opened and leading_id == ctx.run.pk:
        alone = {"count": 1, "events": [ctx.event.data], "actors": _actors_of(ctx)}
        return _carry(ctx, alone, "leading", values)
    max_items = ctx.config.get("maxItems")
    if max_items and count - (1 if leading_id else 0) >= int(max_items):
        window = DigestWindow(pk=window_id, leading_run_id=leading_id)
        if owner_id not in (None, ctx.run.pk):
            Wait.objects.filter(run_id=owner_id, step_id=ctx.state.step_id).update(due_at=ctx.now)
        return _close(ctx, window, "max_items", values)
    if owner_id == ctx.run.pk:
        until = DigestWindow.objects.values_list("closes_at", flat=True).get(pk=window_id)
        return Outcome(StepStatus.WAITING, "digest", until=until, values=values)
    return _digested(values)


def resume(ctx: StepContext) -> Outcome:
    """The owner woken: go on if the window is over, else wait on (a sliding window moved)."""
    values = dict(ctx.state.values)
    window = DigestWindow.objects.select_for_update().filter(pk=values.get("window")).first()
    if window is None:
        return Outcome(StepStatus.FAILED, "digest_window_gone", end_run=RunStatus.FAILED)
    if window.status == CLOSED:
        return _digested({**values, "carrier": window.carrier_run_id})
    if window.closes_at > ctx.now:
        return Outcome(StepStatus.WAITING, "digest", until=window.closes_at)
    return _close(ctx, window, "window_closed", values)
