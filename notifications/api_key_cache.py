"""A few seconds' memory of verified API keys, so an API request costs no query for its key.

``make bench`` measured the key lookup as a fifth of a single-event POST. Revoking or
changing a key clears this memory at once in the process that does it; other processes
honour it within ``RELAY_API_KEY_CACHE_SECONDS`` (0 turns the memory off).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from notifications.models import ApiKey

_remembered: dict[str, tuple[float, ApiKey]] = {}


def find_key(hashed_key: str) -> ApiKey | None:
    ttl = float(settings.RELAY_API_KEY_CACHE_SECONDS)
    now = time.monotonic()
    entry = _remembered.get(hashed_key)
    if entry is not None and entry[0] > now:
        return entry[1]
    key = ApiKey.objects.filter(hashed_key=hashed_key).first()
    if key is not None and key.is_active and ttl > 0:
        _remembered[hashed_key] = (now + ttl, key)
    else:
        _remembered.pop(hashed_key, None)
    return key


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def _forget(sender: type[ApiKey], instance: ApiKey, **kwargs: Any) -> None:
    _remembered.pop(instance.hashed_key, None)
