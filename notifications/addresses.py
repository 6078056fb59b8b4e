"""Subscribers' per-channel addresses (``Subscriber.addresses``): what may be stored there.

Each channel module knows its own address format (the webhook channel wants an http(s) URL),
but the channel modules sit above this app. So they hand their checks down: the pipeline app
registers one per channel when Django starts (``pipeline.apps``), and this module applies
them without importing anything above it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.channel_names import channel_names

# An address check returns an error message for a value it refuses, else None.
AddressCheck = Callable[[str], str | None]
_checks: dict[str, AddressCheck] = {}


def register_address_check(channel: str, check: AddressCheck) -> None:
    _checks[channel] = check


def address_errors(addresses: dict[str, Any]) -> dict[str, str]:
    """Channel -> message for each entry that is not a registered channel's valid address."""
    names = channel_names()
    errors: dict[str, str] = {}
    for channel, address in addresses.items():
        if channel not in names:
            errors[channel] = f"{channel!r} is not a registered channel; use one of: {', '.join(names)}."
        elif not isinstance(address, str) or not address:
            errors[channel] = "An address is a non-empty string."
        elif (problem := _checks.get(channel, _no_check)(address)) is not None:
            errors[channel] = problem
    return errors


def _no_check(address: str) -> None:
    return None
