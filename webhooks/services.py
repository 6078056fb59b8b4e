"""Endpoint changes and replays; every endpoint change tells the in-memory subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from webhooks import subscriptions
from webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage
from webhooks.secrets import ROTATION_OVERLAP, new_secret


def create_endpoint(fields: dict[str, Any]) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (the only time the secret is returned)."""
    secret = new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(secret=secret, **fields)
        transaction.on_commit(subscriptions.changed)
    return endpoint, secret


def update_endpoint(endpoint: WebhookEndpoint, fields: dict[str, Any]) -> WebhookEndpoint:
    """Change the given fields; enabling an endpoint clears its disabled reason and failure clock."""
    for name, value in fields.items():
        setattr(endpoint, name, value)
    if fields.get("enabled") is True:
        endpoint.disabled_reason, endpoint.failing_since = "", None
    with transaction.atomic():
        endpoint.save()
        transaction.on_commit(subscriptions.changed)
    return endpoint


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        endpoint.delete()
        transaction.on_commit(subscriptions.changed)


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """A new secret; the current one keeps signing too for 24 hours. Returns the new one."""
    secret = new_secret()
    endpoint.previous_secret, endpoint.secret = endpoint.secret, secret
    endpoint.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return secret


def replay(messages: QuerySet[WebhookMessage], now: datetime | None = None) -> int:
    """Send these messages again from now, with a fresh retry budget and their own
    ``webhook-id``; their attempt log stays (the dispatcher finds them within its poll
    interval). Returns how many."""
    now = now or timezone.now()
    count = int(
        WebhookMessage.objects.filter(pk__in=messages.values("pk")).update(
            status=MessageStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
        )
    )
    return count
