"""Provider names (as written in the *_PROVIDERS settings) to classes."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from pipeline.providers.base import Provider

PROVIDER_CLASSES: dict[str, str] = {
    "smtp": "pipeline.providers.email.SmtpEmailProvider",
    "console": "pipeline.providers.email.ConsoleEmailProvider",
    "inbox": "pipeline.providers.inapp.InboxProvider",
    "twilio": "pipeline.providers.sms.TwilioSmsProvider",
    "fcm": "pipeline.providers.push.FcmPushProvider",
}


def providers_for(channel: str) -> list[Provider]:
    """The channel's providers in failover order; empty when the channel is not configured."""
    result = []
    for name in settings.RELAY_PROVIDERS.get(channel, []):
        if name not in PROVIDER_CLASSES:
            raise ValueError(f"Unknown provider {name!r} for channel {channel!r}")
        result.append(import_string(PROVIDER_CLASSES[name])())
    return result


def channel_configured(channel: str) -> bool:
    return bool(settings.RELAY_PROVIDERS.get(channel))
