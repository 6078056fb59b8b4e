"""The channels of ``settings.RELAY_CHANNELS``, their providers and limits, as the stages ask.

``settings.RELAY_PROVIDERS`` and ``RELAY_MAX_ATTEMPTS`` (from ``<CHANNEL>_PROVIDERS`` and
``<CHANNEL>_MAX_ATTEMPTS``) override a channel's own defaults. Provider instances are kept
for the process: one connection pool each, reused batch after batch.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.models import Subscriber
from pipeline.channels.base import Channel
from pipeline.providers.base import Provider


def channels() -> dict[str, Channel]:
    """Every registered channel by name, in settings order."""
    return _channels(tuple(settings.RELAY_CHANNELS.items()))


@functools.cache
def _channels(declared: tuple[tuple[str, str], ...]) -> dict[str, Channel]:
    found: dict[str, Channel] = {}
    for name, path in declared:
        channel = import_string(path)()
        if channel.name != name:
            raise ValueError(f"RELAY_CHANNELS[{name!r}] is {path}, whose name is {channel.name!r}")
        found[name] = channel
    return found


def get_channel(name: str) -> Channel:
    try:
        return channels()[name]
    except KeyError:
        raise ValueError(f"Unknown channel {name!r}; registered: {', '.join(channels())}") from None


def provider_names(channel: str) -> list[str]:
    """The channel's providers in failover order; empty when the channel is not configured."""
    overrides = settings.RELAY_PROVIDERS
    return list(overrides[channel]) if channel in overrides else get_channel(channel).default_providers()


def providers_for(channel: str) -> list[Provider]:
    known = get_channel(channel).providers
    for name in provider_names(channel):
        if name not in known:
            raise ValueError(f"Unknown provider {name!r} for channel {channel!r}; known: {', '.join(known)}")
    return [_provider(known[name]) for name in provider_names(channel)]


@functools.cache
def _provider(path: str) -> Provider:
    provider: Provider = import_string(path)()
    return provider


def channel_configured(channel: str) -> bool:
    """False too for a name no longer registered (an old event's channel removed from settings)."""
    return channel in channels() and bool(provider_names(channel))


def reachable(subscribers: Collection[Subscriber], names: Iterable[str]) -> frozenset[tuple[int, str]]:
    """(subscriber id, channel) for each subscriber a channel can reach: the facts of the
    routing engine's ``no_address`` rule, a query at most per channel (database thread)."""
    registered = channels()
    return frozenset(
        (sid, name)
        for name in dict.fromkeys(names)
        if name in registered
        for sid in registered[name].reachable(subscribers)
    )


def max_attempts(channel: str) -> int:
    return int(settings.RELAY_MAX_ATTEMPTS.get(channel, get_channel(channel).max_attempts))


def configured_providers() -> list[str]:
    """Every provider some channel is configured with (their circuit breakers)."""
    return sorted({name for channel in channels() for name in provider_names(channel)})
