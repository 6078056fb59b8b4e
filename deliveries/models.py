"""Delivery records: one per notification and channel, with every attempt kept for audit."""

from __future__ import annotations

from django.db import models

from notifications.models import CHANNEL_CHOICES, Notification


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DEFERRED = "deferred"
    SCHEDULED = "scheduled"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    BOUNCED = "bounced"
    SUPPRESSED = "suppressed"


# A delivery in one of these states is never sent again, whatever message arrives for it.
FINAL_STATUSES = frozenset(
    {
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.BOUNCED,
        DeliveryStatus.SUPPRESSED,
    }
)


class Delivery(models.Model):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    reason = models.CharField(max_length=255, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    provider = models.CharField(max_length=32, blank=True, default="")
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    content = models.JSONField(default=dict, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="delivery_unique")]
        indexes = [
            models.Index(fields=["status", "channel"]),
            models.Index(fields=["created_at"]),
            # Provider status callbacks find their delivery by the provider's message id.
            models.Index(fields=["provider_message_id"], name="delivery_provider_msg_id"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} {self.channel} {self.status}"


class DeliveryAttempt(models.Model):
    """One provider call, successful or not: the audit trail of a delivery."""

    class Outcome(models.TextChoices):
        OK = "ok"
        TRANSIENT = "transient"
        PERMANENT = "permanent"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    provider = models.CharField(max_length=32)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.TextField(blank=True, default="")
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery_id", "number"]


class DeadLetter(models.Model):
    """A delivery that exhausted its attempts or failed permanently, kept for replay."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="dead_letters")
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
