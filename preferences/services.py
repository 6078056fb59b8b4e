"""Writes of the preferences app, shared by the API, the admin and tests."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from notifications.models import Subscriber
from preferences.models import Preference, QuietHours

ROW_FIELDS = ("enabled", "quiet_hours_start", "quiet_hours_end")


class PreferenceExists(Exception):
    def __init__(self, existing: Preference) -> None:
        super().__init__(f"preference {existing.pk} exists")
        self.existing = existing


def create_preference(subscriber: Subscriber, data: dict[str, Any]) -> Preference:
    """A new row; ``PreferenceExists`` if that (channel, event type) already has one."""
    try:
        with transaction.atomic():
            return Preference.objects.create(
                subscriber=subscriber,
                channel=data["channel"],
                event_type=data["event_type"],
                **{f: data[f] for f in ROW_FIELDS if f in data},
            )
    except IntegrityError:
        existing = Preference.objects.get(
            subscriber=subscriber, channel=data["channel"], event_type=data["event_type"]
        )
        raise PreferenceExists(existing) from None


def update_preference(preference: Preference, data: dict[str, Any]) -> Preference:
    changed = [f for f in ROW_FIELDS if f in data]
    for name in changed:
        setattr(preference, name, data[name])
    preference.save(update_fields=[*changed, "updated_at"])
    return preference


@transaction.atomic
def bulk_upsert(subscriber: Subscriber, items: list[dict[str, Any]]) -> None:
    """Create or update every (channel, event type) named; rows not named stay as they are."""
    for item in items:
        Preference.objects.update_or_create(
            subscriber=subscriber,
            channel=item["channel"],
            event_type=item["event_type"],
            defaults={f: item[f] for f in ROW_FIELDS if f in item},
        )


def set_quiet_hours(subscriber: Subscriber, data: dict[str, Any]) -> QuietHours:
    quiet, _ = QuietHours.objects.update_or_create(
        subscriber=subscriber,
        defaults={
            "start": data["start"],
            "end": data["end"],
            "timezone": data.get("timezone", ""),
            "days": data.get("days", []),
            "enabled": data.get("enabled", True),
        },
    )
    return quiet
