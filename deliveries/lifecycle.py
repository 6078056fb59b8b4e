"""A delivery's life: the only code that changes ``Delivery.status``.

Every transition is a named, bulk-capable function. Each one locks the rows it moves
(``SELECT ... FOR UPDATE``), checks every move against ``ALLOWED`` using the status the
database holds (not whatever the caller read earlier), writes the moves it allows and
appends one ``DeliveryTransition`` row per move: the delivery's timeline. A move that is not
allowed is refused and logged, never written. A final status (delivered, failed, bounced,
suppressed) never moves, except ``failed`` by an explicit ``replay``.

::

    (new) --decide--> pending | deferred | scheduled | suppressed | failed
    deferred, scheduled --release_due--> pending --requeue--> deferred, scheduled
    pending --mark_sent--> sent --report--> delivered | bounced | failed
    pending --schedule_retry | wait_for_breaker | redispatch--> pending
    pending --dead_letter | fail--> failed --replay--> pending
    pending | deferred | scheduled --expire | cancel--> suppressed
    pending --suppress--> suppressed

The routing decision (``decision``, ``decision_reason``, ``decision_rule``) is written by
``decide`` and by nothing else; the outcome (``status``, ``reason``, ``last_error``) by the
transitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from django.db import transaction
from django.utils import timezone

from core.bulk import insert_all, insert_new, lock_rows, update_fields
from deliveries.models import DeadLetter, Delivery, DeliveryStatus, DeliveryTransition
from deliveries.reasons import Reason
from deliveries.signals import status_changed

log = structlog.get_logger(__name__)

S = DeliveryStatus
UNSENT = frozenset({S.PENDING, S.DEFERRED, S.SCHEDULED})
WAITING = frozenset({S.DEFERRED, S.SCHEDULED})
# What a delivery may be created as, and (transition -> (from statuses, to statuses)).
CREATED_AS = frozenset({S.PENDING, S.DEFERRED, S.SCHEDULED, S.SUPPRESSED, S.FAILED})
ALLOWED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "release_due": (WAITING, frozenset({S.PENDING})),
    "requeue": (frozenset({S.PENDING}), WAITING),
    "redispatch": (frozenset({S.PENDING}), frozenset({S.PENDING})),
    "mark_sent": (frozenset({S.PENDING}), frozenset({S.SENT})),
    "schedule_retry": (frozenset({S.PENDING}), frozenset({S.PENDING})),
    "wait_for_breaker": (frozenset({S.PENDING}), frozenset({S.PENDING})),
    "dead_letter": (frozenset({S.PENDING}), frozenset({S.FAILED})),
    "fail": (frozenset({S.PENDING}), frozenset({S.FAILED})),
    "suppress": (frozenset({S.PENDING}), frozenset({S.SUPPRESSED})),
    "expire": (UNSENT, frozenset({S.SUPPRESSED})),
    "cancel": (UNSENT, frozenset({S.SUPPRESSED})),
    "report": (frozenset({S.SENT}), frozenset({S.DELIVERED, S.BOUNCED, S.FAILED})),
    "replay": (frozenset({S.FAILED}), frozenset({S.PENDING})),
}


@dataclass
class Step:
    """One delivery's move: where to, why, and the other columns that change with it."""

    delivery_id: int
    to: str
    reason: str = Reason.NONE
    fields: dict[str, Any] = field(default_factory=dict)


def _move(transition: str, steps: Sequence[Step]) -> list[Step]:
    """Lock, check, write and log ``steps``; return those that were allowed."""
    if not steps:
        return []
    sources, targets = ALLOWED[transition]
    now = timezone.now()
    # No savepoint: inside a caller's transaction (the deliver stage's) a failure rolls the
    # whole transaction back anyway, and a savepoint costs two more round trips per batch.
    with transaction.atomic(savepoint=False):
        current = {
            pk: (status, attempts)
            for pk, status, attempts in lock_rows(
                Delivery, [s.delivery_id for s in steps], ["status", "attempts"]
            )
        }
        allowed: list[Step] = []
        for step in steps:
            status = current.get(step.delivery_id, (None, 0))[0]
            if status in sources and step.to in targets:
                allowed.append(step)
            else:
                log.warning(
                    "delivery_transition_refused",
                    delivery_id=step.delivery_id,
                    transition=transition,
                    status=status,
                    to=step.to,
                )
        _write(allowed, now)
        insert_all(
            DeliveryTransition,
            [
                DeliveryTransition(
                    delivery_id=s.delivery_id,
                    transition=transition,
                    status=s.to,
                    reason=s.reason,
                    attempt=s.fields.get("attempts", current[s.delivery_id][1]),
                    at=now,
                )
                for s in allowed
            ],
        )
        _announce(transition, [(s.delivery_id, s.to, s.reason) for s in allowed])
    return allowed


def _announce(transition: str, changes: list[tuple[int, str, str]]) -> None:
    """``status_changed`` in the moving transaction (the status webhooks' outbox writes there)."""
    if changes:
        status_changed.send(sender=Delivery, transition=transition, changes=changes)


def _write(steps: Sequence[Step], now: datetime) -> None:
    """One ``executemany`` per set of changed columns (a batch has one or two)."""
    groups: dict[tuple[str, ...], list[Delivery]] = {}
    for step in steps:
        values = {"status": step.to, "reason": step.reason, "updated_at": now, **step.fields}
        groups.setdefault(tuple(sorted(values)), []).append(Delivery(pk=step.delivery_id, **values))
    for columns, rows in groups.items():
        update_fields(Delivery, rows, columns)


# --- Routing -------------------------------------------------------------------------------


def decide(deliveries: Sequence[Delivery]) -> list[Delivery]:
    """Create the deliveries routing decided, each with its decision and first status; a
    (notification, channel) pair that has a delivery already keeps it. Returns those created."""
    for delivery in deliveries:
        if delivery.status not in CREATED_AS:
            raise ValueError(f"a delivery cannot start as {delivery.status!r}")
    created = insert_new(Delivery, deliveries, unique=["notification", "channel"])
    insert_all(
        DeliveryTransition,
        [
            DeliveryTransition(
                delivery_id=d.pk, transition="decide", status=d.status, reason=d.reason, at=d.created_at
            )
            for d in created
        ],
    )
    _announce("decide", [(d.pk, d.status, d.reason) for d in created])
    return created


# --- Waiting (the scheduler) ---------------------------------------------------------------


def release_due(ids: Iterable[int]) -> list[int]:
    """Deferred or scheduled deliveries whose time has come: pending, to be published."""
    return _ids(_move("release_due", [Step(pk, S.PENDING, Reason.DUE) for pk in ids]))


def requeue(waits: Iterable[tuple[int, str]]) -> list[int]:
    """Released deliveries whose publish failed go back to the status they waited in."""
    steps = [
        Step(pk, status, Reason.QUIET_HOURS if status == S.DEFERRED else Reason.SCHEDULED)
        for pk, status in waits
    ]
    return _ids(_move("requeue", steps))


def redispatch(ids: Iterable[int]) -> list[int]:
    """Pending deliveries stranded by a crash between a commit and its publish."""
    return _ids(_move("redispatch", [Step(pk, S.PENDING, Reason.REDISPATCHED) for pk in ids]))


def expire(ids: Iterable[int]) -> list[int]:
    """Unsent deliveries whose event's ``expiresAt`` has passed."""
    return _ids(_move("expire", [Step(pk, S.SUPPRESSED, Reason.EXPIRED) for pk in ids]))


def cancel(ids: Iterable[int]) -> list[int]:
    """Unsent deliveries of a workflow run that was cancelled (``POST /api/workflows/cancel``)."""
    return _ids(_move("cancel", [Step(pk, S.SUPPRESSED, Reason.CANCELLED) for pk in ids]))


# --- Sending (the deliver stage) -----------------------------------------------------------


@dataclass
class Sent:
    delivery_id: int
    attempts: int
    provider: str
    provider_message_id: str
    at: datetime


def mark_sent(sent: Sequence[Sent]) -> list[int]:
    steps = [
        Step(
            s.delivery_id,
            S.SENT,
            fields={
                "attempts": s.attempts,
                "provider": s.provider,
                "provider_message_id": s.provider_message_id,
                "sent_at": s.at,
                "last_error": "",
            },
        )
        for s in sent
    ]
    return _ids(_move("mark_sent", steps))


@dataclass
class Failed:
    delivery_id: int
    channel: str
    attempts: int
    provider: str
    error: str
    reason: str = Reason.TRANSIENT_ERROR


def _failed_steps(to: str, failures: Sequence[Failed]) -> list[Step]:
    return [
        Step(
            f.delivery_id,
            to,
            f.reason,
            {"attempts": f.attempts, "provider": f.provider, "last_error": f.error},
        )
        for f in failures
    ]


def schedule_retry(failures: Sequence[Failed]) -> list[int]:
    """A transient failure with attempts left: stays pending; the stage naks with a backoff."""
    return _ids(_move("schedule_retry", _failed_steps(S.PENDING, failures)))


def wait_for_breaker(ids: Iterable[int]) -> list[int]:
    """Every provider's breaker was open: no attempt made or counted; tried after the cool-down."""
    return _ids(_move("wait_for_breaker", [Step(pk, S.PENDING, Reason.CIRCUIT_OPEN) for pk in ids]))


def dead_letter(failures: Sequence[Failed]) -> list[int]:
    """A permanent failure, or the last attempt failed: failed, with a dead letter to replay."""
    moved = set(_ids(_move("dead_letter", _failed_steps(S.FAILED, failures))))
    DeadLetter.objects.bulk_create(
        [
            DeadLetter(delivery_id=f.delivery_id, channel=f.channel, reason=f.error or f.reason)
            for f in failures
            if f.delivery_id in moved
        ]
    )
    return sorted(moved)


def fail(failures: Sequence[Failed]) -> list[int]:
    """Failed without a dead letter: nothing a replay could change (no provider configured)."""
    return _ids(_move("fail", _failed_steps(S.FAILED, failures)))


def suppress(ids_and_reasons: Iterable[tuple[int, str]], attempts: dict[int, int] | None = None) -> list[int]:
    """Not sent, and never will be: preferences changed while it waited, the event expired on
    the way, the provider said the address is unusable. The routing decision stays as it was."""
    steps = [
        Step(pk, S.SUPPRESSED, reason, {"attempts": attempts[pk]} if attempts and pk in attempts else {})
        for pk, reason in ids_and_reasons
    ]
    return _ids(_move("suppress", steps))


# --- After sending ---------------------------------------------------------------------------


def report(delivery_id: int, status: str, reason: str, error: str = "") -> bool:
    """A provider's status callback: a sent delivery is delivered, bounced, or failed after all.
    Late, repeated or out-of-order reports find it no longer ``sent`` and are refused."""
    fields: dict[str, Any] = {"last_error": error} if error else {}
    if status == S.DELIVERED:
        fields["delivered_at"] = timezone.now()
    return bool(_move("report", [Step(delivery_id, status, reason, fields)]))


def replay(ids: Iterable[int]) -> list[int]:
    """Failed deliveries get a fresh budget of attempts; the caller publishes them after commit."""
    return _ids(_move("replay", [Step(pk, S.PENDING, Reason.REPLAYED, {"attempts": 0}) for pk in ids]))


def unreplay(ids: Iterable[int]) -> list[int]:
    """A replay whose publish failed: failed again, as it was."""
    return _ids(_move("fail", [Step(pk, S.FAILED, Reason.REPLAY_UNPUBLISHED) for pk in ids]))


def _ids(steps: Sequence[Step]) -> list[int]:
    return [s.delivery_id for s in steps]
