"""Push: to every active device of the subscriber, through FCM; dead tokens are deactivated."""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

import structlog
from django.conf import settings

from core.db import run_db
from notifications.models import Device, Subscriber
from pipeline.channels.base import Channel, Destination, Sent

log = structlog.get_logger(__name__)


class PushChannel(Channel):
    name: ClassVar[str] = "push"
    providers: ClassVar[dict[str, str]] = {"fcm": "pipeline.providers.push.FcmPushProvider"}

    def default_providers(self) -> list[str]:
        return ["fcm"] if settings.FCM_CREDENTIALS else []

    def address_error(self, address: str) -> str | None:
        return "The push channel sends to the subscriber's devices; register them instead."

    def reachable(self, subscribers: Collection[Subscriber]) -> set[int]:
        ids = [s.pk for s in subscribers]
        return set(
            Device.objects.filter(subscriber_id__in=ids, active=True)
            .order_by()
            .values_list("subscriber_id", flat=True)
            .distinct()
        )

    def destinations(self, subscribers: Collection[Subscriber]) -> dict[int, Destination]:
        tokens: dict[int, list[str]] = {}
        for sid, token in Device.objects.filter(
            subscriber_id__in=[s.pk for s in subscribers], active=True
        ).values_list("subscriber_id", "token"):
            tokens.setdefault(sid, []).append(token)
        return {sid: Destination(devices=tuple(found)) for sid, found in tokens.items()}

    async def finish(self, sent: Sent) -> None:
        """Tokens FCM called dead never get another message: one UPDATE for the batch."""
        dead = {
            (message.subscriber_id, token)
            for message, result in sent
            for token in result.details.get("dead_tokens", ())
        }
        if dead:
            deactivated = await run_db(deactivate_tokens, dead)
            log.info("push_devices_deactivated", devices=deactivated)


def deactivate_tokens(dead: set[tuple[int, str]]) -> int:
    """One UPDATE for the batch's dead tokens, scoped to their subscribers."""
    return Device.objects.filter(
        subscriber_id__in={sid for sid, _ in dead}, token__in={token for _, token in dead}, active=True
    ).update(active=False)
