"""Signal receivers that turn changes of the lower layers into status events (the outbox).

Each runs inside the transaction of the change. The first thing each does is ask whether any
enabled endpoint wants the types it could produce; with none, that set lookup is all it costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deliveries.models import Delivery
from realtime.models import InboxMessage
from webhooks import outbox
from webhooks.event_types import DELIVERY_STATUSES, INBOX_ACTIONS
from webhooks.subscriptions import wanted_types
from workflows.models import Run

DELIVERY_TYPES = {status: f"delivery.{status}" for status in DELIVERY_STATUSES}


def on_delivery_status(
    sender: Any, transition: str, changes: Sequence[tuple[int, str, str]], **_: Any
) -> None:
    wanted = wanted_types()
    if not wanted:
        return
    moves = [(pk, status, reason) for pk, status, reason in changes if DELIVERY_TYPES.get(status) in wanted]
    if not moves:
        return
    about = {
        row["pk"]: row
        for row in Delivery.objects.filter(pk__in=[pk for pk, _, _ in moves]).values(
            "pk", "channel", "notification__event__event_id", "notification__subscriber__user_id"
        )
    }
    outbox.record(
        [
            (
                DELIVERY_TYPES[status],
                {
                    "deliveryId": pk,
                    "eventId": about[pk]["notification__event__event_id"],
                    "userId": about[pk]["notification__subscriber__user_id"],
                    "channel": about[pk]["channel"],
                    "status": status,
                    "reason": reason,
                },
            )
            for pk, status, reason in moves
            if pk in about
        ]
    )


def on_inbox_state(sender: Any, action: str, ids: Sequence[int], details: dict[str, Any], **_: Any) -> None:
    kind = INBOX_ACTIONS.get(action)
    if kind is None or kind not in wanted_types():
        return
    rows = InboxMessage.objects.filter(pk__in=list(ids)).values(
        "pk", "delivery_id", "event_type", "subscriber__user_id", "delivery__notification__event__event_id"
    )
    outbox.record(
        [
            (
                kind,
                {
                    "messageId": row["pk"],
                    "deliveryId": row["delivery_id"],
                    "eventId": row["delivery__notification__event__event_id"],
                    "eventType": row["event_type"],
                    "userId": row["subscriber__user_id"],
                    **({"actionKey": details["key"]} if "key" in details else {}),
                },
            )
            for row in rows
        ]
    )


def on_runs_ended(sender: Any, runs: Sequence[Run], **_: Any) -> None:
    wanted = wanted_types()
    ended = [run for run in runs if f"workflow.{run.status}" in wanted]
    if not ended:
        return
    about = {
        row["pk"]: row
        for row in Run.objects.filter(pk__in=[run.pk for run in ended]).values(
            "pk",
            "version__workflow__key",
            "version__version",
            "subscriber__user_id",
            "notification__event__event_id",
        )
    }
    outbox.record(
        [
            (
                f"workflow.{run.status}",
                {
                    "runId": run.pk,
                    "workflow": about[run.pk]["version__workflow__key"],
                    "version": about[run.pk]["version__version"],
                    "eventId": about[run.pk]["notification__event__event_id"],
                    "userId": about[run.pk]["subscriber__user_id"],
                    "status": run.status,
                    "reason": run.reason,
                },
            )
            for run in ended
        ]
    )
