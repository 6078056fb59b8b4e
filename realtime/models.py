"""The in-app inbox: the stored message is what the WebSocket feed and the inbox API show,
and the per-subscriber counters (``realtime/counters.py``) that answer its counts."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from deliveries.models import Delivery
from notifications.models import Subscriber

PRIORITIES = ["low", "normal", "high", "urgent"]

# A message is in the inbox (listed by default, and counted) while neither archived nor snoozed.
IN_INBOX = Q(archived_at__isnull=True, snoozed_until__isnull=True)


class InboxMessage(models.Model):
    # No index of its own: every index below starts with the subscriber.
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="inbox", db_index=False)
    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="inbox_message")
    event_type = models.CharField(max_length=200)
    title = models.CharField(max_length=500, blank=True, default="")
    body = models.TextField(blank=True, default="")
    action_url = models.URLField(max_length=2000, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    priority = models.CharField(max_length=8, default="normal")
    # ``[{"key", "label", "url"?, "completedAt"?}]``: the message's action buttons.
    actions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # The read/seen times before a snooze (``{"readAt", "seenAt"}``), for an early unsnooze.
    snoozed_from = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        # Keyset listing walks one of these backwards from the cursor, so a page costs the
        # same wherever it is (docs/BENCHMARKS.md shows the plans).
        indexes = [
            models.Index(fields=["subscriber", "-id"], name="inbox_keyset_all"),
            models.Index(fields=["subscriber", "-id"], condition=IN_INBOX, name="inbox_keyset_inbox"),
            models.Index(
                fields=["subscriber", "-id"],
                condition=IN_INBOX & Q(read_at__isnull=True),
                name="inbox_keyset_unread",
            ),
            models.Index(
                fields=["subscriber", "event_type", "-id"], condition=IN_INBOX, name="inbox_keyset_type"
            ),
            models.Index(
                fields=["subscriber", "-id"],
                condition=Q(archived_at__isnull=False),
                name="inbox_keyset_archived",
            ),
            models.Index(
                fields=["subscriber", "-id"],
                condition=Q(snoozed_until__isnull=False),
                name="inbox_keyset_snoozed",
            ),
            # The scheduler's wake-ups of due snoozes and the retention job's oldest rows.
            models.Index(
                fields=["snoozed_until"], condition=Q(snoozed_until__isnull=False), name="inbox_snooze_due"
            ),
            models.Index(fields=["created_at"], name="inbox_created"),
        ]

    def __str__(self) -> str:
        return f"inbox {self.pk} for {self.subscriber_id}"


class InboxCounter(models.Model):
    """Counts of a subscriber's inbox (messages neither archived nor snoozed) for one
    dimension value: ``all`` (value ""), ``tag``, ``type`` (event type) or ``priority``.

    Written only by ``realtime.counters.apply``, in the transaction that changes the messages,
    so a count is one row read however large the inbox grows.
    """

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="+", db_index=False)
    dimension = models.CharField(max_length=8)
    value = models.CharField(max_length=200, blank=True, default="")
    total = models.BigIntegerField(default=0)
    unread = models.BigIntegerField(default=0)
    unseen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "dimension", "value"], name="inbox_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id} {self.dimension}={self.value}: {self.unread}/{self.total}"
