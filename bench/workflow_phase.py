"""The workflow phase: README's recipe (a) with a 1 s delay, half its in-app messages read.

Each event starts a run: in-app now, a 1 s delay, then an email only if the in-app message is
still unread. While the delays run, the load generator reads every other event's message over
the API as soon as it appears. What the engine saw is recorded on each run (the mail step's
condition values), so the emails owed are known exactly: one per run that saw its message
unread, none for the others. Lost: an owed email that never reached the SMTP sink, or a run
that never completed; duplicated: a second email for one event, or an email for a run that saw
its message read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.http_clients import LoadClient
from bench.load import PhaseResult, event_bodies, post_batches, send

EVENT_TYPE = "bench.workflow"
DELAY_SECONDS = 1
STEPS = [
    {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
    {"id": "wait", "type": "delay", "config": {"duration": DELAY_SECONDS}},
    {"id": "mail", "type": "send", "config": {"channel": "email"}, "if": {"!": {"var": "steps.inbox.read"}}},
]


@dataclass
class WorkflowResult:
    posted: PhaseResult
    read_requested: int = 0
    read_ok: int = 0
    to_read: set[str] = field(default_factory=set)


def publish_workflow() -> None:
    from workflows import services

    services.publish(EVENT_TYPE, {"name": "Bench: in-app, then email if unread", "steps": STEPS})


def bodies(prefix: str, count: int, users: list[str]) -> list[dict[str, Any]]:
    return [body | {"eventType": EVENT_TYPE} for body in event_bodies(prefix, count, users, ["in_app"])]


def _unread_messages(event_ids: set[str]) -> list[tuple[int, str, str]]:
    """(inbox id, userId, eventId) of these events' in-app messages, not read yet."""
    from realtime.models import InboxMessage

    return list(
        InboxMessage.objects.filter(
            delivery__notification__event__event_id__in=event_ids, read_at__isnull=True
        ).values_list("pk", "subscriber__user_id", "delivery__notification__event__event_id")
    )


async def post_and_read(
    http: LoadClient,
    all_bodies: list[dict[str, Any]],
    batch_size: int,
    concurrency: int,
    advance: Callable[[int], None],
) -> WorkflowResult:
    """Post the events in batches while reading every other one's in-app message as it appears."""
    result = WorkflowResult(PhaseResult())
    pending = {body["eventId"] for body in all_bodies[::2]}
    result.to_read = set(pending)
    posting = asyncio.ensure_future(post_batches(http, all_bodies, batch_size, concurrency, advance))
    deadline = time.monotonic() + 30 + DELAY_SECONDS
    while pending and time.monotonic() < deadline:
        found = await asyncio.to_thread(_unread_messages, pending)
        replies = await asyncio.gather(
            *(send(http, "POST", f"/api/inbox/{pk}/read?userId={user}") for pk, user, _ in found)
        )
        result.read_requested += len(found)
        result.read_ok += sum(1 for reply in replies if reply is not None and reply.status_code == 200)
        pending -= {event_id for _, _, event_id in found}
        if not found:
            await asyncio.sleep(0.02)
    result.posted = await posting
    return result


def settled_runs(prefix: str) -> int:
    from workflows.models import LIVE_RUN_STATUSES, Run

    return (
        Run.objects.filter(notification__event__event_id__startswith=f"{prefix}-")
        .exclude(status__in=LIVE_RUN_STATUSES)
        .count()
    )


@dataclass(frozen=True)
class Owed:
    completed: int
    last_completed_at: float
    emailed: set[str]  # events whose run saw the message unread: one email each
    not_emailed: set[str]  # events whose run saw it read: no email


def owed_emails(prefix: str) -> Owed:
    from django.db.models import Max

    from workflows.models import Run, RunStatus, StepState, StepStatus

    runs = Run.objects.filter(
        notification__event__event_id__startswith=f"{prefix}-", status=RunStatus.COMPLETED
    )
    last = runs.aggregate(last=Max("updated_at"))["last"]
    mail = StepState.objects.filter(run__in=runs, step_id="mail").values_list(
        "run__notification__event__event_id", "status"
    )
    emailed = {event_id for event_id, status in mail if status == StepStatus.DONE}
    skipped = {event_id for event_id, status in mail if status == StepStatus.SKIPPED}
    return Owed(runs.count(), last.timestamp() if last else 0.0, emailed, skipped)
