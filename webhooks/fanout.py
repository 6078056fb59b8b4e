"""Status events to per-endpoint messages: one row per (endpoint, status event), unique, so a
status event published or fetched twice still makes one message (one ``webhook-id``) each."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from core.bulk import insert_new
from webhooks.models import MessageStatus, StatusEvent, WebhookMessage
from webhooks.subscriptions import subscriptions


def fan_out(status_event_ids: Sequence[int]) -> int:
    """Make the messages of these status events for every enabled endpoint that wants them,
    due now; mark the events published (they came from the stream). Returns how many are new."""
    now = timezone.now()
    with transaction.atomic():
        events = list(StatusEvent.objects.filter(pk__in=list(status_event_ids)).values_list("pk", "type"))
        rows = [
            WebhookMessage(
                endpoint_id=sub.endpoint_id,
                status_event_id=pk,
                status=MessageStatus.PENDING,
                next_attempt_at=now,
            )
            for pk, kind in events
            for sub in subscriptions()
            if kind in sub.types
        ]
        created = insert_new(WebhookMessage, rows, unique=["endpoint", "status_event"])
        StatusEvent.objects.filter(pk__in=[pk for pk, _ in events], published=False).update(published=True)
    return len(created)
