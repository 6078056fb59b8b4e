"""Delivery records: one per notification and channel, with every attempt kept for audit."""

from __future__ import annotations

from django.db import models

from notifications.models import Notification


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DEFERRED = "deferred"
    SCHEDULED = "scheduled"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    BOUNCED = "bounced"
    SUPPRESSED = "suppressed"


class Decision(models.TextChoices):
    SEND = "send"
    SUPPRESS = "suppress"
    DEFER = "defer"


class Delivery(models.Model):
    """One notification on one channel.

    Two things are kept apart: the routing *decision* (``decision``, ``decision_reason``,
    ``decision_rule``), written once when the delivery is created and never again, and the
    *outcome* (``status``, ``reason``, ``last_error``), which only deliveries/lifecycle.py
    changes, one checked transition at a time, each leaving a ``DeliveryTransition`` row.
    Reasons are ``deliveries.reasons.Reason`` values; channels are validated against the
    channel registry, not with ``choices``, so neither needs a migration to grow.
    """

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    reason = models.CharField(max_length=64, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    decision = models.CharField(max_length=16, choices=Decision.choices, default=Decision.SEND)
    decision_reason = models.CharField(max_length=64, blank=True, default="")
    decision_rule = models.CharField(max_length=64, blank=True, default="")
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


class DeliveryTransition(models.Model):
    """One step of a delivery's life (its timeline): which transition, the status it led to,
    why, when, and at which attempt. Appended by deliveries/lifecycle.py only."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="timeline")
    transition = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices)
    reason = models.CharField(max_length=64, blank=True, default="")
    attempt = models.PositiveIntegerField(default=0)
    at = models.DateTimeField()

    class Meta:
        ordering = ["delivery_id", "id"]

    def __str__(self) -> str:
        return f"{self.transition} -> {self.status}"


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
    channel = models.CharField(max_length=32)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
