"""Workflow definitions: a workflow per event type, published as immutable versions."""

from __future__ import annotations

from django.db import models


class Workflow(models.Model):
    """The workflow of one event type (its ``key``).

    ``current`` is the version new runs start on; ``None`` means the workflow was deleted and
    events of that type go to their ``channels`` as before. Versions are never removed, so a
    run in flight stays pinned to the version it started on.
    """

    key = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    current = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class WorkflowVersion(models.Model):
    """One published, immutable version: its ordered steps ``[{id, type, config, if}]``."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200, blank=True, default="")
    steps = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "version"], name="workflow_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.workflow.key} v{self.version}"


class RunStatus(models.TextChoices):
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    THROTTLED = "throttled"
    FAILED = "failed"
    DIGESTED = "digested"  # its event went into a digest another run of the window carries on


# A run in one of these statuses may still advance (and send); the others are final.
LIVE_RUN_STATUSES = (RunStatus.RUNNING, RunStatus.WAITING)


class StepStatus(models.TextChoices):
    PENDING = "pending"
    WAITING = "waiting"
    SKIPPED = "skipped"
    DONE = "done"
    THROTTLED = "throttled"
    CANCELLED = "cancelled"
    FAILED = "failed"


# A step in one of these statuses never runs again.
FINAL_STEP_STATUSES = frozenset(
    {StepStatus.SKIPPED, StepStatus.DONE, StepStatus.THROTTLED, StepStatus.CANCELLED, StepStatus.FAILED}
)


class Run(models.Model):
    """One recipient's pass through a workflow version: one per notification (event x subscriber).

    Every writer (the engine advancing it, a cancellation) locks this row first, so a step
    never runs for a run another writer has just ended. ``context`` is what steps hand to later
    steps beyond their own state (a digest's ``count``, ``events``, ``actors``).
    """

    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="runs")
    notification = models.OneToOneField(
        "notifications.Notification", on_delete=models.CASCADE, related_name="workflow_run"
    )
    subscriber = models.ForeignKey(
        "notifications.Subscriber", on_delete=models.CASCADE, related_name="workflow_runs"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    reason = models.CharField(max_length=64, blank=True, default="")
    cancellation_key = models.CharField(max_length=128, blank=True, default="")
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["cancellation_key", "status"], name="run_cancellation"),
            models.Index(fields=["status", "updated_at"], name="run_status"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} {self.status}"


class StepState(models.Model):
    """Where one step of a run is. Unique on (run, step id): a redelivered message finds the
    step done and cannot advance it twice. ``values`` records what the step decided on (the
    condition's evaluated values, a throttle's count); ``delivery`` is the delivery it made."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="step_states")
    step_id = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField()
    type = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.PENDING)
    reason = models.CharField(max_length=64, blank=True, default="")
    waiting_until = models.DateTimeField(null=True, blank=True)
    values = models.JSONField(default=dict, blank=True)
    delivery = models.ForeignKey(
        "deliveries.Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="workflow_steps"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run_id", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "step_id"], name="step_state_unique")]

    def __str__(self) -> str:
        return f"{self.step_id} {self.status}"


class Wait(models.Model):
    """A step waiting: due at ``due_at`` (the scheduler claims it with SKIP LOCKED and wakes the
    run), or earlier when ``delivery``'s in-app message is read or seen (``waitFor``). The engine
    removes the row in the transaction that moves the step on, so a wait outlives any crash."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="waits")
    step_id = models.CharField(max_length=64)
    due_at = models.DateTimeField()
    delivery = models.ForeignKey(
        "deliveries.Delivery", null=True, blank=True, on_delete=models.CASCADE, related_name="workflow_waits"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "step_id"], name="wait_unique")]
        indexes = [models.Index(fields=["due_at"], name="wait_due")]

    def __str__(self) -> str:
        return f"wait {self.run_id}/{self.step_id} until {self.due_at}"


class ThrottleSlot(models.Model):
    """One run let through a ``throttle`` step; a window's slots are counted under a lock."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    step_id = models.CharField(max_length=64)
    subscriber = models.ForeignKey("notifications.Subscriber", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200, blank=True, default="")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "step_id"], name="throttle_slot_unique")]
        indexes = [
            models.Index(fields=["workflow", "subscriber", "step_id", "key", "at"], name="throttle_window")
        ]


class DigestWindow(models.Model):
    """One digest window: the events of one (workflow, digest step, subscriber, key) collected
    until it closes.

    At most one window per key is ``open`` (a partial unique index): every event joins it with
    one ``INSERT ... ON CONFLICT DO UPDATE`` (``workflows.steps.digest``), so concurrent events
    cannot open two. ``owner_run`` waits for the window to close and carries the digest on;
    ``carrier_run`` is the run that did (the owner, or the run that filled it to ``maxItems``).
    ``leading_run`` went on at once (``flushLeading``, or ``lookback`` found nothing before it).
    """

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    step_id = models.CharField(max_length=64)
    subscriber = models.ForeignKey("notifications.Subscriber", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    count = models.PositiveIntegerField(default=1)
    opened_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    latest_close = models.DateTimeField(null=True, blank=True)  # a sliding window's limit (maxWait)
    last_event_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    owner_run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    carrier_run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    leading_run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "step_id", "subscriber", "key"],
                condition=models.Q(status="open"),
                name="digest_one_open_window",
            )
        ]
        indexes = [
            models.Index(
                fields=["workflow", "step_id", "subscriber", "key", "last_event_at"], name="digest_lookback"
            )
        ]

    def __str__(self) -> str:
        return f"digest {self.pk} {self.status} ({self.count})"


class DigestMember(models.Model):
    """A run's event in a digest window, ``position`` 1, 2, ... in the order they joined."""

    window = models.ForeignKey(DigestWindow, on_delete=models.CASCADE, related_name="members")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="digest_memberships")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["window_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["window", "run"], name="digest_member_unique"),
            models.UniqueConstraint(fields=["window", "position"], name="digest_member_position"),
        ]
