"""In-app: the subscriber's inbox, which every subscriber has."""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from notifications.models import Subscriber
from pipeline.channels.base import Channel


class InAppChannel(Channel):
    name: ClassVar[str] = "in_app"
    providers: ClassVar[dict[str, str]] = {"inbox": "pipeline.providers.inapp.InboxProvider"}

    def default_providers(self) -> list[str]:
        return ["inbox"]

    def reachable(self, subscribers: Collection[Subscriber]) -> set[int]:
        return {s.pk for s in subscribers}

    def address_error(self, address: str) -> str | None:
        return "The in_app channel needs no address: every subscriber has an inbox."
