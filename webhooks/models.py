"""Status webhooks: endpoints, the status events (the outbox), each endpoint's message log and
every attempt of a message."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class WebhookEndpoint(models.Model):
    """A receiver of status events. ``secret`` signs every attempt; during the 24 h after a
    rotation ``previous_secret`` signs too (until ``previous_secret_expires_at``)."""

    url = models.CharField(max_length=2000)  # checked by core.ssrf at create, patch and send
    description = models.CharField(max_length=500, blank=True, default="")
    # Event types (webhooks.event_types); empty: every type.
    events = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set by the first failed attempt after a success; an endpoint failing for
    # RELAY_STATUS_WEBHOOK_DISABLE_AFTER is disabled.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class StatusEvent(models.Model):
    """One status event, written in the transaction of the change it reports (the outbox);
    ``published`` once JetStream has stored it (``relay.status.<type>``)."""

    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    published = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["id"], condition=Q(published=False), name="status_unpublished")]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class MessageStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookMessage(models.Model):
    """One status event for one endpoint: the unit retried, logged and replayed. Its
    ``webhook-id`` is the same on every attempt."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages")
    status_event = models.ForeignKey(StatusEvent, on_delete=models.CASCADE, related_name="messages")
    status = models.CharField(max_length=16, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due (pending); a claimed message's lease meanwhile.
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "status_event"], name="webhook_message_unique")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="webhook_message_due",
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_message_log"),
        ]

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.status_event_id}_{self.endpoint_id}"

    def __str__(self) -> str:
        return self.webhook_id


class WebhookAttempt(models.Model):
    """One POST of a message: what the receiver answered, or the error."""

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="attempt_log")
    attempt = models.PositiveIntegerField()
    at = models.DateTimeField()
    # When it was due: attempts are made in this order.
    scheduled_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    response = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["id"]
