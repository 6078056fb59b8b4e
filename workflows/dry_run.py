"""Dry run: what a workflow would do with one event for one subscriber, written nowhere.

Each step's condition is evaluated as the engine would, on the event's payload and the
subscriber as stored now (``steps.<id>.status`` is what an earlier send would make; nothing is
``seen`` or ``read`` yet; after a digest, ``digest`` holds this one event). Each ``send`` is
decided and rendered by the ``sender`` given (the pipeline's, which runs routing's rules
without claiming dedup or counting rate limits, and keeps the delivery unsaved). Waiting steps
say until when they would wait, as if the event arrived now.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from deliveries.models import DeliveryStatus
from notifications.models import Notification
from templates_admin.rendering import subscriber_context
from workflows import conditions
from workflows.models import ThrottleSlot, WorkflowVersion
from workflows.steps.base import Sender, SendRequest
from workflows.steps.delay import next_occurrence

WOULD_WAIT = (DeliveryStatus.DEFERRED, DeliveryStatus.SCHEDULED)
SENDS = (DeliveryStatus.PENDING, *WOULD_WAIT)


class _Plan:
    """The plan so far: each step's entry, and what later conditions see of it."""

    def __init__(self, notification: Notification, now: datetime) -> None:
        self.notification, self.now = notification, now
        self.steps: list[dict[str, Any]] = []
        self.states: dict[str, dict[str, Any]] = {}
        self.context: dict[str, Any] = {}
        self.made: dict[str, str] = {}  # send step id -> the status its delivery would have

    def data(self) -> dict[str, Any]:
        return {
            "payload": self.notification.event.data,
            "subscriber": subscriber_context(self.notification.subscriber),
            "steps": self.states,
            "digest": self.context.get("digest", {}),
        }

    def add(self, step: Mapping[str, Any], would: str, reason: str, **more: Any) -> None:
        self.steps.append({"id": step["id"], "type": step["type"], "would": would, "reason": reason, **more})
        status = more.get("deliveryStatus") or {"skip": "skipped", "wait": "waiting"}.get(would, "done")
        self.states[step["id"]] = {"status": status, "seen": False, "read": False}


def _until(moment: datetime | None) -> dict[str, Any]:
    return {"until": moment.isoformat()} if moment is not None else {}


def _send(plan: _Plan, step: Mapping[str, Any], sender: Sender) -> None:
    config = step["config"]
    delivery = sender(
        SendRequest(
            plan.notification,
            str(config["channel"]),
            template=str(config.get("template") or ""),
            urgent=bool(config.get("urgent")),
            context=plan.context,
            actions=config.get("actions") or {},
            tags=config.get("tags") or [],
        )
    )
    would = "wait" if delivery.status in WOULD_WAIT else "send" if delivery.status in SENDS else "skip"
    plan.made[step["id"]] = delivery.status
    plan.add(
        step,
        would,
        delivery.reason or delivery.decision_reason,
        channel=delivery.channel,
        # A channel without providers or a template that fails is settled before any decision.
        **({} if delivery.status == DeliveryStatus.FAILED else {"decision": delivery.decision}),
        content=delivery.content,
        deliveryStatus=delivery.status,
        **_until(delivery.not_before if would == "wait" else None),
    )


def _delay(plan: _Plan, step: Mapping[str, Any]) -> None:
    config, now, zone = step["config"], plan.now, plan.notification.subscriber.timezone
    if "duration" in config:
        until: datetime | None = now + timedelta(seconds=int(config["duration"]))
    elif "until" in config:
        value = conditions.resolve(str(config["until"]), plan.data())
        try:
            until = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            until = None
        if until is None:
            plan.add(step, "skip", "invalid_until")
            return
    else:
        until = next_occurrence(str(config["at"]), zone, now)
    plan.add(step, "wait", "delay", **_until(until))


def _digest(plan: _Plan, step: Mapping[str, Any]) -> None:
    config, payload = step["config"], plan.notification.event.data
    actor = payload.get("actor", payload.get("actorId")) if isinstance(payload, dict) else None
    plan.context["digest"] = {"count": 1, "events": [payload], "actors": [] if actor is None else [actor]}
    if config.get("flushLeading"):
        plan.add(step, "continue", "leading")
    elif "at" in config:
        at = next_occurrence(str(config["at"]), plan.notification.subscriber.timezone, plan.now)
        plan.add(step, "wait", "digest", **_until(at))
    else:
        plan.add(step, "wait", "digest", **_until(plan.now + timedelta(seconds=int(config["window"]))))


def _throttle(plan: _Plan, step: Mapping[str, Any], version: WorkflowVersion) -> bool:
    """Whether the run would go on: counts the throttle's slots as they are, takes none."""
    config = step["config"]
    key_path = config.get("key")
    key = str(conditions.resolve(str(key_path), plan.data())) if key_path else ""
    taken = ThrottleSlot.objects.filter(
        workflow_id=version.workflow_id,
        subscriber_id=plan.notification.subscriber.pk,
        step_id=step["id"],
        key=key[:200],
        at__gt=plan.now - timedelta(seconds=int(config["window"])),
    ).count()
    if taken >= int(config["limit"]):
        plan.add(step, "skip", "throttled", values={"count": taken, "limit": int(config["limit"])})
        return False
    plan.add(step, "continue", "", values={"count": taken, "limit": int(config["limit"])})
    return True


def _wait_for(plan: _Plan, step: Mapping[str, Any]) -> None:
    config = step["config"]
    if plan.made.get(str(config["step"])) not in SENDS:
        plan.add(step, "continue", "no_message")
        return
    timeout = plan.now + timedelta(seconds=int(config["timeout"]))
    plan.add(step, "wait", f"until_{config['until']}", **_until(timeout))


def dry_run(version: WorkflowVersion, notification: Notification, sender: Sender) -> list[dict[str, Any]]:
    """The plan of ``version`` for ``notification`` (unsaved, with its event and subscriber)."""
    plan = _Plan(notification, timezone.now())
    ended = ""
    for step in version.steps:
        if ended:
            plan.add(step, "skip", f"run_{ended}")
            continue
        rule = step.get("if")
        if rule is not None:
            data = plan.data()
            try:
                holds = conditions.evaluate(rule, data)
            except ValueError as error:
                plan.add(step, "skip", "condition_error", error=str(error))
                ended = "failed"
                continue
            if not holds:
                plan.add(step, "skip", "condition_false", values={"condition": conditions.values(rule, data)})
                continue
        kind = step["type"]
        if kind == "send":
            _send(plan, step, sender)
        elif kind == "delay":
            _delay(plan, step)
        elif kind == "digest":
            _digest(plan, step)
        elif kind == "throttle" and not _throttle(plan, step, version):
            ended = "throttled"
        elif kind == "waitFor":
            _wait_for(plan, step)
    return plan.steps
