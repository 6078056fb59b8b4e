"""Webhook: the rendered message POSTed as signed JSON to the subscriber's own URL.

The address is ``Subscriber.addresses["webhook"]``, an http(s) URL. When the receiver answers
410 Gone, the provider suppresses the delivery (``address_gone``) and ``finish`` moves the
address to ``Subscriber.disabled_addresses`` with the reason and time, so routing finds no
address for the channel until the client sets one again (``PUT /api/subscribers/<userId>``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from core.db import run_db
from notifications.models import Subscriber
from pipeline.channels.base import Channel, Sent
from pipeline.providers.base import SUPPRESS

log = structlog.get_logger(__name__)

ADDRESS_GONE = "address_gone"
_is_url = URLValidator(schemes=["http", "https"])


class WebhookChannel(Channel):
    name: ClassVar[str] = "webhook"
    providers: ClassVar[dict[str, str]] = {"webhook": "pipeline.providers.webhook.WebhookProvider"}
    max_attempts: ClassVar[int] = 8

    def default_providers(self) -> list[str]:
        return ["webhook"] if settings.RELAY_WEBHOOK_SECRET else []

    def address_error(self, address: str) -> str | None:
        try:
            _is_url(address)
        except ValidationError:
            return "Use an http(s) URL, e.g. https://hooks.example.com/relay."
        return None

    async def finish(self, sent: Sent) -> None:
        gone = {
            (message.subscriber_id, message.to)
            for message, result in sent
            if result.details.get(SUPPRESS) == ADDRESS_GONE
        }
        if gone:
            disabled = await run_db(disable_addresses, gone)
            log.info("webhook_addresses_disabled", subscribers=disabled)


def disable_addresses(gone: Iterable[tuple[int, str]], channel: str = WebhookChannel.name) -> int:
    """Move each gone address out of ``addresses``, unless the client changed it meanwhile."""
    wanted = dict(gone)
    now = timezone.now().isoformat()
    changed = []
    with transaction.atomic():
        for subscriber in Subscriber.objects.select_for_update().filter(pk__in=wanted).order_by("pk"):
            if subscriber.addresses.get(channel) != wanted[subscriber.pk]:
                continue
            address = subscriber.addresses.pop(channel)
            subscriber.disabled_addresses[channel] = {"address": address, "reason": ADDRESS_GONE, "at": now}
            changed.append(subscriber)
        Subscriber.objects.bulk_update(changed, ["addresses", "disabled_addresses"])
    return len(changed)
