"""What a channel is: everything Relay needs to know about one way of reaching a subscriber.

A channel module subclasses ``Channel`` and is named in ``settings.RELAY_CHANNELS``. The
stages ask it, never a ``channel == "..."`` test: route asks whom it can reach (the ``no_address``
rule) and checks the rendered content against ``content_keys``; deliver asks for each
subscriber's destination, sends through the channel's providers (``<CHANNEL>_PROVIDERS``
overrides ``default_providers``), retries up to ``max_attempts`` (``<CHANNEL>_MAX_ATTEMPTS``
overrides it) and hands the results to ``finish``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import ClassVar

from notifications.models import Subscriber
from pipeline.providers.base import OutboundMessage, ProviderResult


@dataclass(frozen=True)
class Destination:
    """Where one subscriber's message goes on a channel: an address, or device tokens."""

    to: str = ""
    devices: tuple[str, ...] = ()


Sent = Sequence[tuple[OutboundMessage, ProviderResult]]


class Channel:
    name: ClassVar[str]
    # Provider names (as written in <CHANNEL>_PROVIDERS) -> provider class paths.
    providers: ClassVar[dict[str, str]] = {}
    max_attempts: ClassVar[int] = 5
    # The keys the rendered content must have: what this channel's providers read.
    content_keys: ClassVar[tuple[str, ...]] = ("title", "body")

    def default_providers(self) -> list[str]:
        """The providers used when <CHANNEL>_PROVIDERS is not set; empty: not configured."""
        return []

    def address(self, subscriber: Subscriber) -> str:
        """The subscriber's address on this channel: by default their ``addresses`` entry."""
        return str(subscriber.addresses.get(self.name, ""))

    def address_error(self, address: str) -> str | None:
        """Why ``address`` cannot be stored in ``Subscriber.addresses`` for this channel, or None."""
        return None

    def reachable(self, subscribers: Collection[Subscriber]) -> set[int]:
        """Ids of the subscribers this channel has an address for (a database thread, in bulk)."""
        return {s.pk for s in subscribers if self.address(s)}

    def destinations(self, subscribers: Collection[Subscriber]) -> dict[int, Destination]:
        """Subscriber id -> where their message goes (a database thread, in bulk)."""
        return {s.pk: Destination(to=self.address(s)) for s in subscribers}

    async def finish(self, sent: Sent) -> None:
        """After a batch's provider calls, before their outcome is recorded: act on what the
        providers reported about addresses (dead push tokens, a webhook URL that is gone)."""


class FieldAddressChannel(Channel):
    """A channel whose address is a field of its own on the subscriber (email, phone)."""

    field: ClassVar[str]

    def address(self, subscriber: Subscriber) -> str:
        return str(getattr(subscriber, self.field))

    def address_error(self, address: str) -> str | None:
        return f"The {self.name} channel sends to the subscriber's {self.field!r}; set that instead."
