"""The scheduler's side of runs: claiming due waits, and runs a crash left without a message.

A due ``Wait`` row is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and leased: its due
time moves ``RELAY_WAIT_LEASE`` seconds on in the same commit, so a second scheduler skips it
now and any scheduler takes it again if the wake message is lost (the claimer died before
publishing). The row goes only when the engine moves the step on, so a wait survives a
``kill -9`` of any process; a wake that finds the step moved on already does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from workflows.models import Run, RunStatus, Wait


def claim_due_waits(now: datetime, limit: int) -> list[int]:
    """Runs whose waits are due, up to ``limit`` waits no other scheduler holds."""
    with transaction.atomic():
        claimed = list(
            Wait.objects.select_for_update(skip_locked=True)
            .filter(due_at__lte=now)
            .order_by("due_at", "pk")
            .values_list("pk", "run_id")[:limit]
        )
        lease = now + timedelta(seconds=float(settings.RELAY_WAIT_LEASE))
        Wait.objects.filter(pk__in=[pk for pk, _ in claimed]).update(due_at=lease)
    return list(dict.fromkeys(run_id for _, run_id in claimed))


def claim_stranded_runs(now: datetime, limit: int) -> list[int]:
    """Running runs untouched for ``RELAY_STRANDED_AFTER`` seconds: their message was lost.

    Touched as they are claimed, so one pass takes each; the engine moves a run on only from
    what the database says, so a run that was not stranded after all loses nothing.
    """
    cutoff = now - timedelta(seconds=float(settings.RELAY_STRANDED_AFTER))
    with transaction.atomic():
        ids = list(
            Run.objects.select_for_update(skip_locked=True)
            .filter(status=RunStatus.RUNNING, updated_at__lt=cutoff)
            .order_by("updated_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        Run.objects.filter(pk__in=ids).update(updated_at=now)
    return ids


def waiting_runs() -> int:
    return Run.objects.filter(status=RunStatus.WAITING).count()
