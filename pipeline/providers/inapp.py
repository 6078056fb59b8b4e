"""In-app: the inbox row is the message; the channel layer pushes it to open sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import structlog
from channels.layers import get_channel_layer
from django.db import transaction

from core.bulk import insert_new
from core.db import run_db
from deliveries.models import Delivery
from pipeline.providers.base import OnAccepted, OutboundMessage, Provider, ProviderResult, ignore_acceptance
from realtime import counters
from realtime.groups import inbox_group, message_payload
from realtime.models import InboxMessage

log = structlog.get_logger(__name__)


def store_inbox_messages(messages: Sequence[OutboundMessage]) -> list[InboxMessage]:
    """Insert the batch's inbox rows; a redelivered message already has its row, read back."""
    rows = [
        InboxMessage(
            subscriber_id=m.subscriber_id,
            delivery=Delivery(pk=m.delivery_id),
            event_type=m.event_type,
            title=m.content.get("title", ""),
            body=m.content.get("body", ""),
            action_url=m.content.get("actionUrl", ""),
            data=m.data,
            tags=m.tags,
            priority=m.priority,
            actions=m.content.get("actions") or [],
        )
        for m in messages
    ]
    with transaction.atomic():
        created = insert_new(InboxMessage, rows, unique=["delivery"])
        # Only the rows this insert created count: a redelivered message's row counted once.
        counters.apply((None, counters.counted_of(row)) for row in created)
    if len(created) == len(rows):
        return created
    return list(InboxMessage.objects.filter(delivery_id__in=[m.delivery_id for m in messages]))


def store_and_count(messages: Sequence[OutboundMessage]) -> tuple[list[InboxMessage], dict[int, Any]]:
    """The rows and their subscribers' fresh counts (counter rows, not an aggregate of the
    inbox) in one trip to the database thread."""
    rows = store_inbox_messages(messages)
    return rows, counters.counts_for_many(sorted({m.subscriber_id for m in messages}))


class InboxProvider(Provider):
    name: ClassVar[str] = "inbox"
    channel: ClassVar[str] = "in_app"
    records_acceptances: ClassVar[bool] = False

    async def send(self, message: OutboundMessage) -> ProviderResult:
        return (await self.send_batch([message]))[0]

    async def send_batch(
        self, messages: Sequence[OutboundMessage], on_accepted: OnAccepted = ignore_acceptance
    ) -> list[ProviderResult]:
        """Reports no acceptances: the inbox row, unique per delivery, is its own durable
        record, so a redelivered message finds its row and is not stored twice."""
        started = time.perf_counter()
        try:
            rows, counts = await run_db(store_and_count, messages)
        except Exception as error:
            return [self.result("transient", started, error=str(error)) for _ in messages]
        by_delivery = {row.delivery_id: row for row in rows}
        by_subscriber: dict[int, list[OutboundMessage]] = {}
        for message in messages:
            by_subscriber.setdefault(message.subscriber_id, []).append(message)
        layer = get_channel_layer()

        async def push_in_order(subscriber_messages: list[OutboundMessage]) -> None:
            for message in subscriber_messages:
                await self._push(layer, message, by_delivery[message.delivery_id], counts)

        # Subscribers in parallel (each push is a few Redis round trips), each one's in order.
        await asyncio.gather(*(push_in_order(group) for group in by_subscriber.values()))
        return [
            self.result("ok", started, provider_message_id=f"inbox-{by_delivery[m.delivery_id].pk}")
            for m in messages
        ]

    @staticmethod
    async def _push(layer: Any, message: OutboundMessage, row: InboxMessage, counts: dict[int, Any]) -> None:
        try:
            await layer.group_send(
                inbox_group(message.subscriber_id),
                {
                    "type": "inbox.notification",
                    "message": message_payload(row),
                    "counts": counts[message.subscriber_id],
                },
            )
        except Exception as error:
            # The row is stored, which is the delivery; a socket push is best effort and
            # the client catches up from the inbox on reconnect.
            log.warning("inbox_push_failed", delivery_id=message.delivery_id, error=str(error))
