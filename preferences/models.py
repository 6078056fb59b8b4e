"""What each subscriber wants: preference rows, a quiet-hours window, and per-type defaults.

A preference row names a channel and an event type; ``*`` in either place widens it, so
one table holds the global opt-out (``*``/``*``), channel opt-outs (channel/``*``) and
event-type choices (``*``/type or channel/type) without a special case each.
"""

from __future__ import annotations

from django.db import models

from notifications.models import Subscriber

ANY = "*"
WEEKDAYS = list(range(7))  # Monday = 0, as datetime.weekday()


class Preference(models.Model):
    """A subscriber's explicit choice for (channel, event type); wins over every default."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="preferences")
    channel = models.CharField(max_length=32, default=ANY)
    event_type = models.CharField(max_length=200, default=ANY)
    enabled = models.BooleanField(default=True)
    # Overrides the subscriber's quiet hours for this channel and event type (their time zone).
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["subscriber_id", "event_type", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "channel", "event_type"], name="preference_unique")
        ]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"{self.subscriber_id} {self.event_type}/{self.channel}: {state}"


class QuietHours(models.Model):
    """The window in which non-urgent deliveries wait; ``end`` before ``start`` crosses midnight."""

    subscriber = models.OneToOneField(Subscriber, on_delete=models.CASCADE, related_name="quiet_hours")
    start = models.TimeField()
    end = models.TimeField()
    # Empty: the subscriber's own time zone.
    timezone = models.CharField(max_length=64, blank=True, default="")
    # Weekdays (Monday = 0) on which the window *starts*; empty means every day.
    days = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "quiet hours"

    def __str__(self) -> str:
        return f"{self.subscriber_id} {self.start}-{self.end} {self.timezone or 'subscriber tz'}"


class EventTypeDefault(models.Model):
    """What a subscriber without an explicit choice gets; ``urgent`` events ignore a default off."""

    event_type = models.CharField(max_length=200)
    channel = models.CharField(max_length=32, default=ANY)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event_type", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["event_type", "channel"], name="event_type_default_unique")
        ]

    def __str__(self) -> str:
        return f"{self.event_type}/{self.channel}: {'on' if self.enabled else 'off'}"
