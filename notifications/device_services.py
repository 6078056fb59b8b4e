"""Writes for push devices: register (or re-activate) a token, remove one."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from notifications.models import Device, Subscriber


@transaction.atomic
def register_device(subscriber: Subscriber, token: str, platform: str) -> tuple[Device, bool]:
    """Upsert the token for this subscriber and make it active again.

    A push token identifies an app install, not a person: when another subscriber signs in
    on the same install, the token stops reaching the previous one.
    """
    Device.objects.filter(token=token, active=True).exclude(subscriber=subscriber).update(active=False)
    device, created = Device.objects.update_or_create(
        subscriber=subscriber,
        token=token,
        defaults={"platform": platform, "active": True, "last_seen_at": timezone.now()},
    )
    return device, created


def remove_device(subscriber: Subscriber, token: str) -> bool:
    deleted, _ = Device.objects.filter(subscriber=subscriber, token=token).delete()
    return deleted > 0
