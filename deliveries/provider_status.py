"""Provider status reports (delivery receipts) moving a sent delivery to its final state."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from deliveries import lifecycle
from deliveries.models import Delivery

log = structlog.get_logger(__name__)

Lookup = dict[str, str]


@dataclass(frozen=True)
class StatusReport:
    provider: str
    provider_message_id: str
    status: str  # a DeliveryStatus value: delivered, failed or bounced
    reason: str  # a Reason value
    error: str = ""  # the provider's own words, kept as the delivery's last error


def apply_status_report(report: StatusReport) -> Delivery | None:
    """Record what the provider says happened to a message it accepted.

    Only a delivery in ``sent`` moves (``lifecycle.report``), so reports arriving late, twice or out of order
    (Twilio sends no ordering guarantee) never undo a final answer. Returns the delivery,
    or None when no delivery has that provider message id.
    """
    delivery = (
        Delivery.objects.filter(provider=report.provider, provider_message_id=report.provider_message_id)
        .only("pk", "status")
        .first()
    )
    if delivery is None:
        return None
    moved = lifecycle.report(delivery.pk, report.status, report.reason, report.error)
    log.info(
        "delivery_status_reported",
        delivery_id=delivery.pk,
        provider=report.provider,
        status=report.status,
        reason=report.reason,
        applied=bool(moved),
    )
    return delivery
