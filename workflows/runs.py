"""Starting and cancelling runs: the writes around the engine.

A run starts per notification (one recipient of an event) whose event type has a current
workflow version, pinned to that version, with one ``pending`` state row per step. Starting
is idempotent (unique on the notification), so a replayed route message finds its runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import structlog
from django.db import transaction
from django.utils import timezone

from core import metrics
from core.bulk import insert_all, insert_new
from deliveries import lifecycle
from notifications.models import Notification
from workflows.models import LIVE_RUN_STATUSES, Run, RunStatus, StepState, StepStatus, Wait, WorkflowVersion
from workflows.signals import runs_ended

log = structlog.get_logger(__name__)


def start_runs(notifications: Sequence[Notification], versions: Mapping[str, WorkflowVersion]) -> list[int]:
    """The runs of these notifications (events loaded), created where missing; their ids."""
    runs = [
        Run(
            version=versions[n.event.event_type],
            notification_id=n.pk,
            subscriber_id=n.subscriber_id,
            cancellation_key=n.event.cancellation_key,
        )
        for n in notifications
    ]
    with transaction.atomic():
        created = insert_new(Run, runs, unique=["notification"])
        insert_all(
            StepState,
            [
                StepState(run_id=run.pk, step_id=step["id"], position=index, type=step["type"])
                for run in created
                for index, step in enumerate(run.version.steps)
            ],
        )
    if len(created) == len(runs):
        return [run.pk for run in created]
    return list(
        Run.objects.filter(notification_id__in=[n.pk for n in notifications]).values_list("pk", flat=True)
    )


def cancel_runs(cancellation_key: str, user_id: str | None = None) -> int:
    """Cancel the live runs carrying this key (of one subscriber, given ``user_id``).

    The runs are locked as the engine locks them, so once this commits no step of theirs runs
    again; their waits go, their pending and waiting steps become ``cancelled``, and their
    deliveries not sent yet (deferred by quiet hours, say) end ``suppressed``, ``cancelled``.
    """
    runs = Run.objects.filter(cancellation_key=cancellation_key, status__in=LIVE_RUN_STATUSES)
    if user_id is not None:
        runs = runs.filter(subscriber__user_id=user_id)
    now = timezone.now()
    with transaction.atomic():
        locked = list(
            Run.objects.select_for_update(of=("self",))
            .filter(pk__in=list(runs.values_list("pk", flat=True)), status__in=LIVE_RUN_STATUSES)
            .order_by("pk")
            .select_related("version__workflow")
        )
        ids = [run.pk for run in locked]
        Run.objects.filter(pk__in=ids).update(status=RunStatus.CANCELLED, reason="cancelled", updated_at=now)
        for run in locked:
            run.status, run.reason = RunStatus.CANCELLED, "cancelled"
        if locked:
            runs_ended.send(sender=Run, runs=locked)
        StepState.objects.filter(run_id__in=ids, status__in=[StepStatus.PENDING, StepStatus.WAITING]).update(
            status=StepStatus.CANCELLED, reason="cancelled", waiting_until=None, updated_at=now
        )
        Wait.objects.filter(run_id__in=ids).delete()
        lifecycle.cancel(
            StepState.objects.filter(run_id__in=ids, delivery__status__in=lifecycle.UNSENT).values_list(
                "delivery_id", flat=True
            )
        )
    for run in locked:
        metrics.WORKFLOW_RUNS.labels(run.version.workflow.key, RunStatus.CANCELLED).inc()
    log.info("workflow_runs_cancelled", cancellation_key=cancellation_key, user_id=user_id, runs=len(ids))
    return len(ids)
