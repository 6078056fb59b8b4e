"""The interface between the engine and a step type: what a step is given, what it answers.

A step type is a module with two functions, ``start(ctx) -> Outcome`` (the run reached the
step and its ``if`` held) and ``resume(ctx) -> Outcome`` (the step's wait came due, or a read
woke it). Both run inside the engine's transaction, with the run row locked: whatever they
write commits together with the step's new state, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from deliveries.models import Delivery
from notifications.models import Event, Notification, Subscriber
from workflows.models import Run, StepState, StepStatus


@dataclass(frozen=True)
class SendRequest:
    """One delivery a step asks for; routing (preferences, quiet hours, rate limits,
    templates) decides it exactly as for an event without a workflow."""

    notification: Notification
    channel: str
    template: str = ""  # the event type whose templates render it; "" = the event's own
    urgent: bool = False
    context: Mapping[str, Any] = field(default_factory=dict)  # more template context (a digest)
    actions: Mapping[str, Any] = field(default_factory=dict)  # in-app buttons replacing the template's
    tags: Sequence[str] = ()  # in-app message tags, before the template's and the event's


# Creates (or, replayed, finds) the delivery; given to the engine by the workflow stage, since
# routing lives in the pipeline, above this app.
Sender = Callable[[SendRequest], Delivery]


@dataclass(frozen=True)
class Outcome:
    """What a step did.

    ``status`` is ``done``, ``waiting`` (until ``until``, and, with ``wake_on``, until that
    delivery's in-app message is read or seen), ``throttled`` or ``failed``. ``end_run`` ends the
    run with that ``RunStatus`` after this step (the steps after it are skipped).
    """

    status: str
    reason: str = ""
    until: datetime | None = None
    wake_on: int | None = None
    delivery: Delivery | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    end_run: str | None = None


def done(reason: str = "", **kwargs: Any) -> Outcome:
    return Outcome(StepStatus.DONE, reason, **kwargs)


def wait(until: datetime, reason: str = "", wake_on: int | None = None) -> Outcome:
    return Outcome(StepStatus.WAITING, reason, until=until, wake_on=wake_on)


@dataclass
class StepContext:
    """One step of one locked run: its definition, its state row, the time, a way to send.

    ``data()`` is what conditions see, read at the moment it is called (the current read and
    seen state of the run's in-app messages).
    """

    run: Run
    state: StepState
    step: Mapping[str, Any]  # the normalized definition: {"id", "type", "config", "if"?}
    now: datetime
    sender: Sender
    data: Callable[[], dict[str, Any]]
    states: dict[str, StepState] = field(default_factory=dict)  # every step of the run, by id

    @property
    def config(self) -> Mapping[str, Any]:
        return self.step.get("config") or {}

    @property
    def notification(self) -> Notification:
        return self.run.notification

    @property
    def event(self) -> Event:
        return self.run.notification.event

    @property
    def subscriber(self) -> Subscriber:
        return self.run.subscriber


class StepType(Protocol):
    """A step type's module."""

    def start(self, ctx: StepContext) -> Outcome: ...

    def resume(self, ctx: StepContext) -> Outcome: ...
