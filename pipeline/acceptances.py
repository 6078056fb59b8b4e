"""Provider acceptances, recorded durably the moment a provider takes a message.

The deliver stage commits a batch's outcome in one transaction once every provider call of
the batch has returned. A worker killed before that commit used to send the whole batch
again on redelivery. So each acceptance (delivery -> provider and the provider's message id)
is also recorded the moment the provider answers ok, before its next call on that
connection, and the stage looks the batch up before sending: an accepted delivery is settled
as sent, never sent again. A kill then repeats only the calls in flight, at most one per
open provider connection.

With Redis (``REDIS_URL``): one key per delivery, written with a TTL longer than a message
can wait for redelivery and removed once the batch's transaction holds the outcome; the
look-up is one ``MGET`` per batch. Without Redis (the embedded ``make run``): the provider and
its message id go onto the still-pending delivery row in an autocommit ``UPDATE``, and the
look-up reads the rows the stage loaded anyway.

Recording never fails a send. While Redis is unreachable nothing is recorded or looked up
(logged, retried after a few seconds): a kill may then repeat a batch, as before.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import structlog
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from core.redis_client import redis_key, shared_async_redis, shared_redis
from deliveries.models import Delivery, DeliveryStatus
from pipeline.providers.base import OutboundMessage, Provider, ProviderResult

log = structlog.get_logger(__name__)

# Longer than any message waits for redelivery (ack_wait, retries' backoff, a scheduler
# re-dispatch of a stale pending delivery, workers down for a weekend); a key outlives its
# batch only when the worker died before ``forget``.
TTL_SECONDS = 7 * 24 * 3600
# After a Redis error, recording and look-ups pause this long instead of waiting out a
# socket timeout per message.
REDIS_RETRY_SECONDS = 5.0
RECOVERED = "recovered: accepted before restart"


def recovered(provider: str, provider_message_id: str) -> ProviderResult:
    """The result a delivery accepted before a restart is settled with: ok, and says so."""
    return ProviderResult("ok", provider, provider_message_id=provider_message_id, error=RECOVERED)


class Ledger(Protocol):
    def record(self, message: OutboundMessage, result: ProviderResult) -> None:
        """Durably, before returning; blocking, so called from a provider's worker thread."""

    async def find(self, deliveries: Sequence[Delivery]) -> dict[int, ProviderResult]:
        """The pending deliveries a provider accepted already, each as its recovered result."""

    async def forget(self, deliveries: Sequence[Delivery]) -> None:
        """Drop the records of deliveries whose outcome is committed."""


class RedisLedger:
    def __init__(self) -> None:
        self._down_until = 0.0

    @staticmethod
    def key(delivery_id: int, event_id: str) -> str:
        # The event id too: a database reset reuses delivery ids, never (id, event) pairs.
        return redis_key("accepted", delivery_id, event_id)

    def keys(self, deliveries: Sequence[Delivery]) -> list[str]:
        return [self.key(d.pk, d.notification.event.event_id) for d in deliveries]

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, action: str, error: Exception) -> None:
        self._down_until = time.monotonic() + REDIS_RETRY_SECONDS
        log.warning("acceptance_redis_unavailable", action=action, error=str(error))

    def record(self, message: OutboundMessage, result: ProviderResult) -> None:
        if not self._up():
            return
        try:
            shared_redis().set(
                self.key(message.delivery_id, message.event_id),
                f"{result.provider} {result.provider_message_id}",
                ex=TTL_SECONDS,
            )
        except Exception as error:  # any client error: the send stands, unrecorded
            self._failed("record", error)

    async def find(self, deliveries: Sequence[Delivery]) -> dict[int, ProviderResult]:
        if not deliveries or not self._up():
            return {}
        keys = self.keys(deliveries)
        try:
            values = await shared_async_redis().mget(keys)
        except Exception as error:
            self._failed("find", error)
            return {}
        found = {}
        for delivery, value in zip(deliveries, values, strict=True):
            if value is not None:
                text = value.decode() if isinstance(value, bytes) else value
                provider, _, message_id = text.partition(" ")
                found[delivery.pk] = recovered(provider, message_id)
        return found

    async def forget(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries or not self._up():
            return
        try:
            await shared_async_redis().unlink(
                *(self.key(d.pk, d.notification.event.event_id) for d in deliveries)
            )
        except Exception as error:  # the TTL removes them instead
            self._failed("forget", error)


class DatabaseLedger:
    """The pending row itself carries the acceptance; its final outcome later overwrites it."""

    def record(self, message: OutboundMessage, result: ProviderResult) -> None:
        try:
            close_old_connections()  # a provider thread's connection may have gone stale
            Delivery.objects.filter(pk=message.delivery_id, status=DeliveryStatus.PENDING).update(
                provider=result.provider, provider_message_id=result.provider_message_id
            )
        except DatabaseError as error:
            log.warning("acceptance_not_recorded", delivery_id=message.delivery_id, error=str(error))

    async def find(self, deliveries: Sequence[Delivery]) -> dict[int, ProviderResult]:
        return {
            d.pk: recovered(d.provider, d.provider_message_id)
            for d in deliveries
            if d.status == DeliveryStatus.PENDING and d.provider_message_id
        }

    async def forget(self, deliveries: Sequence[Delivery]) -> None:
        return None


class NoLedger:
    """For providers whose send is its own record (``Provider.records_acceptances``)."""

    def record(self, message: OutboundMessage, result: ProviderResult) -> None:
        return None

    async def find(self, deliveries: Sequence[Delivery]) -> dict[int, ProviderResult]:
        return {}

    async def forget(self, deliveries: Sequence[Delivery]) -> None:
        return None


_redis_ledger = RedisLedger()
_database_ledger = DatabaseLedger()
_no_ledger = NoLedger()


def ledger(providers: Sequence[Provider]) -> Ledger:
    """Where the acceptances of these providers are recorded: nowhere when none of them needs
    it (two Redis round trips a batch saved on the in-app path)."""
    if not any(p.records_acceptances for p in providers):
        return _no_ledger
    return _redis_ledger if settings.REDIS_URL else _database_ledger
