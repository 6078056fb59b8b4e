"""The in-app inbox: the stored message is what the WebSocket feed and the inbox API show."""

from __future__ import annotations

from django.db import models

from deliveries.models import Delivery
from notifications.models import Subscriber


class InboxMessage(models.Model):
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="inbox")
    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="inbox_message")
    event_type = models.CharField(max_length=200)
    title = models.CharField(max_length=500, blank=True, default="")
    body = models.TextField(blank=True, default="")
    action_url = models.URLField(max_length=2000, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["subscriber", "read_at", "archived_at"])]

    def __str__(self) -> str:
        return f"inbox {self.pk} for {self.subscriber_id}"
