"""The engine: moves one run on as far as it can go, in one transaction with its row locked.

Each call locks the run (``SELECT ... FOR UPDATE``), re-reads its status (a cancelled or
finished run does nothing more) and walks its steps from the first that is not final:
a pending step's ``if`` is evaluated (false: ``skipped``, with the values it read), then its
type's ``start`` runs; a waiting step's ``resume`` runs. The walk stops at the first step that
waits, or at the end. Every step state, wait row and delivery it writes commits together, so
a message handled twice finds its steps done and cannot advance them again; the deliveries to
publish are returned and published after the commit (a crash in between leaves them
``pending``, which the scheduler re-dispatches).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from django.db import transaction
from django.utils import timezone

from core import metrics
from deliveries.models import DeliveryStatus
from workflows import conditions
from workflows.models import (
    FINAL_STEP_STATUSES,
    LIVE_RUN_STATUSES,
    Run,
    RunStatus,
    StepState,
    StepStatus,
    Wait,
)
from workflows.run_data import condition_data
from workflows.signals import runs_ended
from workflows.steps import STEP_TYPES
from workflows.steps.base import Outcome, Sender, StepContext

log = structlog.get_logger(__name__)


@dataclass
class Advanced:
    """What one call did: deliveries to publish now, the run's status after it, and whether
    it stopped on a wait that a read can end (checked again once this commit is visible)."""

    run_id: int
    dispatch: list[tuple[str, int, int]] = field(default_factory=list)  # channel, delivery, subscriber
    status: str = ""
    waits_for_read: bool = False


def _lock(run_id: int) -> Run | None:
    run = (
        Run.objects.select_for_update(of=("self",))
        .select_related("version__workflow", "notification__event", "notification__subscriber")
        .filter(pk=run_id)
        .first()
    )
    if run is not None:  # one subscriber object for the run and its notification (routing reads it)
        run.subscriber = run.notification.subscriber
    return run


def _condition(state: StepState, rule: Any, data: dict[str, Any]) -> Outcome | None:
    """None when the step's ``if`` holds; else the step's skip (or failure, for a rule that
    cannot be evaluated on this data). Either way the values the rule read are recorded."""
    try:
        holds = conditions.evaluate(rule, data)
        state.values = {**state.values, "condition": conditions.values(rule, data)}
    except ValueError as error:
        return Outcome(
            StepStatus.FAILED, "condition_error", values={"error": str(error)}, end_run=RunStatus.FAILED
        )
    return None if holds else Outcome(StepStatus.SKIPPED, "condition_false")


def _run_step(ctx: StepContext, state: StepState) -> Outcome:
    step_type = STEP_TYPES.get(state.type)
    if step_type is None:
        return Outcome(StepStatus.FAILED, "unknown_step_type", end_run=RunStatus.FAILED)
    if state.status == StepStatus.PENDING and ctx.step.get("if") is not None:
        skipped = _condition(state, ctx.step["if"], ctx.data())
        if skipped is not None:
            return skipped
    began = time.perf_counter()
    outcome = step_type.resume(ctx) if state.status == StepStatus.WAITING else step_type.start(ctx)
    metrics.WORKFLOW_STEP_DURATION.labels(state.type).observe(time.perf_counter() - began)
    return outcome


def _record(run: Run, state: StepState, outcome: Outcome) -> None:
    """Write the step's new state, and its wait row: kept while it waits, gone once it moves on."""
    was_waiting = state.status == StepStatus.WAITING
    state.status, state.reason, state.waiting_until = outcome.status, outcome.reason[:64], outcome.until
    if outcome.delivery is not None:
        state.delivery = outcome.delivery
    if outcome.values:
        state.values = {**state.values, **outcome.values}
    state.save()
    if outcome.status == StepStatus.WAITING:
        assert outcome.until is not None
        Wait.objects.update_or_create(
            run=run, step_id=state.step_id, defaults={"due_at": outcome.until, "delivery_id": outcome.wake_on}
        )
    elif was_waiting:
        Wait.objects.filter(run=run, step_id=state.step_id).delete()


def _walk(run: Run, sender: Sender, now: datetime, result: Advanced) -> None:
    states = {s.step_id: s for s in StepState.objects.filter(run=run).select_related("delivery")}
    steps = run.version.steps
    run.status, run.reason = RunStatus.RUNNING, ""
    for index, step in enumerate(steps):
        state = states[step["id"]]
        if state.status in FINAL_STEP_STATUSES:
            continue
        ctx = StepContext(run, state, step, now, sender, lambda: condition_data(run, states), states)
        outcome = _run_step(ctx, state)
        _record(run, state, outcome)
        delivery = outcome.delivery
        if delivery is not None and delivery.status == DeliveryStatus.PENDING:
            result.dispatch.append((delivery.channel, delivery.pk, run.subscriber_id))
        if outcome.status == StepStatus.WAITING:
            run.status, run.reason = RunStatus.WAITING, outcome.reason
            result.waits_for_read = outcome.wake_on is not None
            return
        if outcome.end_run is not None:
            run.status, run.reason = outcome.end_run, outcome.reason
            rest = [states[s["id"]].pk for s in steps[index + 1 :]]
            StepState.objects.filter(pk__in=rest, status=StepStatus.PENDING).update(
                status=StepStatus.SKIPPED, reason=f"run_{outcome.end_run}", updated_at=now
            )
            return
    run.status = RunStatus.COMPLETED


def advance(run_id: int, sender: Sender, now: datetime | None = None) -> Advanced:
    """Move the run on as far as it goes now; see the module's docstring."""
    result = Advanced(run_id)
    with transaction.atomic():
        run = _lock(run_id)
        if run is None or run.status not in LIVE_RUN_STATUSES:
            return result
        _walk(run, sender, now or timezone.now(), result)
        run.save(update_fields=["status", "reason", "context", "updated_at"])
        if run.status not in LIVE_RUN_STATUSES:
            runs_ended.send(sender=Run, runs=[run])
    result.status = run.status
    if run.status not in LIVE_RUN_STATUSES:
        metrics.WORKFLOW_RUNS.labels(run.version.workflow.key, run.status).inc()
        log.info("workflow_run_ended", run_id=run_id, status=run.status, reason=run.reason)
    return result
