"""The wake path: a read or seen in the inbox ends a ``waitFor`` at once, not at its timeout.

The inbox (``realtime``, a lower layer) sends ``inbox_changed``; the receiver here finds the
runs waiting on those messages and publishes them on ``relay.workflow.run``, which the workflow
stage consumes. JetStream carries the wake across processes: the API or the WebSocket server
that took the read is rarely the process running the stage. The publish happens after the
read commits, so the stage reads it; a wake that finds nothing to do costs a look.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import orjson
import structlog
from django.db import transaction

from core.names import names
from core.publisher import get_publisher
from workflows.models import Wait

log = structlog.get_logger(__name__)

WAKING_ACTIONS = frozenset({"read", "seen", "read_all"})


def on_inbox_changed(sender: Any, subscriber_id: int, action: str, ids: Sequence[int], **kwargs: Any) -> None:
    if action in WAKING_ACTIONS and ids:
        transaction.on_commit(lambda: wake_runs_waiting_on(list(ids)))


def wake_runs_waiting_on(inbox_ids: list[int]) -> int:
    """Publish the runs waiting on these inbox messages; return how many. Best effort: a run
    whose wake is lost still ends its wait at the timeout."""
    run_ids = list(
        Wait.objects.filter(delivery__inbox_message__id__in=inbox_ids)
        .values_list("run_id", flat=True)
        .distinct()
    )
    if not run_ids:
        return 0
    subject, nonce = names().workflow_subject, os.urandom(4).hex()
    results = get_publisher().publish_many(
        [(subject, orjson.dumps({"run_id": run_id}), f"wake-{run_id}-{nonce}") for run_id in run_ids]
    )
    failed = [error for error in results if isinstance(error, Exception)]
    if failed:
        log.warning("workflow_wake_unpublished", runs=len(failed), error=str(failed[0]))
    return len(run_ids) - len(failed)
