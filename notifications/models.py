"""Who gets notified (Subscriber, Device, Topic) and what happened (Event, Notification)."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone

PRIORITY_CHOICES = [("low", "Low"), ("normal", "Normal"), ("high", "High"), ("urgent", "Urgent")]


class Subscriber(models.Model):
    """A recipient, known to Relay by the client application's own user id."""

    user_id = models.CharField(max_length=128, unique=True)
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC")
    locale = models.CharField(max_length=16, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    # Channel name -> address, for the channels whose address is not a field above (webhook:
    # a URL). A new channel keeps its addresses here, so it needs no migration.
    addresses = models.JSONField(default=dict, blank=True)
    # Channel name -> {"address", "reason", "at"}: addresses a channel disabled after the
    # receiver said they are gone; routing then finds no address for that channel.
    disabled_addresses = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id"]

    def __str__(self) -> str:
        return self.user_id


class Device(models.Model):
    """A push token of one of a subscriber's devices; deactivated when the provider rejects it."""

    PLATFORMS = [("android", "Android"), ("ios", "iOS"), ("web", "Web")]

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="devices")
    token = models.CharField(max_length=4096)
    platform = models.CharField(max_length=16, choices=PLATFORMS, default="android")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscriber", "token"], name="device_unique_token")]

    def __str__(self) -> str:
        return f"{self.subscriber_id}:{self.platform}:{self.token[:12]}"


class Topic(models.Model):
    """A named group of subscribers; an event sent to a topic fans out to every member."""

    key = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    subscribers = models.ManyToManyField(Subscriber, through="TopicMembership", related_name="topics")

    def __str__(self) -> str:
        return self.key


class TopicMembership(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="memberships")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "subscriber"], name="topic_member_unique")]


class Event(models.Model):
    """An accepted event. ``event_id`` is the client's idempotency key, unique forever."""

    event_id = models.CharField(max_length=128, unique=True)
    event_type = models.CharField(max_length=200, db_index=True)
    user_id = models.CharField(max_length=128, blank=True, default="")
    topic = models.CharField(max_length=128, blank=True, default="")
    channels = models.JSONField(default=list)
    priority = models.CharField(max_length=8, choices=PRIORITY_CHOICES, default="normal")
    data = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    locale = models.CharField(max_length=16, blank=True, default="")
    scheduled_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Names the workflow runs this event starts, for POST /api/workflows/cancel.
    cancellation_key = models.CharField(max_length=128, blank=True, default="")
    fingerprint = models.CharField(max_length=64)
    accepted_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The activity feed (GET /api/events) pages newest first by id: per event type the
            # index yields the page in order, and a time range finds its rows by created_at.
            models.Index(fields=["event_type", "-id"], name="event_type_newest"),
            models.Index(fields=["created_at"], name="event_created_at"),
        ]

    def __str__(self) -> str:
        return self.event_id


class Notification(models.Model):
    """One event for one recipient; its deliveries are one per requested channel."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="notifications")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["event", "subscriber"], name="notification_unique")]

    def __str__(self) -> str:
        return f"{self.event_id}->{self.subscriber_id}"


API_KEY_SCOPES = ["events:write", "subscribers:write", "workflows:write", "webhooks:write", "read"]


def hash_api_key(raw_key: str) -> str:
    """Keys are 256-bit random strings, so a plain SHA-256 is enough and keeps lookups O(1)."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    """A server-to-server credential. Only its hash is stored; the raw key is shown once."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, name: str, scopes: list[str] | None = None) -> tuple[ApiKey, str]:
        """Create a key and return it with the raw secret, which is never stored."""
        prefix = secrets.token_hex(4)
        raw_key = f"rk_{prefix}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            name=name,
            prefix=prefix,
            hashed_key=hash_api_key(raw_key),
            scopes=list(scopes if scopes is not None else API_KEY_SCOPES),
        )
        return key, raw_key

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
