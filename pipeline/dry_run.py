"""Routing for a workflow dry run: route's own rules and rendering, nothing claimed or written.

The preference engine's pure rules run on the same facts route loads; its stateful gates are
replaced by ones that keep no state (no dedup claim, no rate-limit count), so a dry run never
changes what a real event later meets. The delivery it returns is never saved.
"""

from __future__ import annotations

from deliveries.models import Delivery
from notifications.models import Notification
from pipeline.channels.registry import reachable
from pipeline.stages.route import Send, _decided_delivery, _predecided
from preferences.engine import Candidate, Gates, decide_all
from preferences.selectors import routing_facts
from workflows.dry_run import dry_run
from workflows.models import WorkflowVersion
from workflows.steps.base import SendRequest

# Dedup and rate limits are not judged: asking them would claim or count.
NO_STATE = Gates(duplicates=lambda keys: set(), over_limit=lambda candidates, now: set())


def unsaved_delivery(request: SendRequest) -> Delivery:
    """The delivery route would make for this send, decided and rendered, not saved."""
    send = Send.of(request)
    subscriber = request.notification.subscriber
    facts = routing_facts(
        [subscriber], {request.notification.event.event_type}, reachable([subscriber], [request.channel])
    )
    settled = _predecided(request.notification, request.channel, facts.now)
    if settled is not None:
        return settled
    event = send.routed_event()
    candidate = Candidate(request.notification.pk or 0, event, subscriber, request.channel)
    decision = decide_all([candidate], facts, NO_STATE)[candidate.key]
    return _decided_delivery(send, event, decision, facts.now)


def plan(version: WorkflowVersion, notification: Notification) -> list[dict[str, object]]:
    """The workflow's plan for an unsaved notification (its event and subscriber set)."""
    return dry_run(version, notification, unsaved_delivery)
