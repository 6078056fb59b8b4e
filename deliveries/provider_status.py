"""Provider status reports (delivery receipts) moving a sent delivery to its final state."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from django.utils import timezone

from deliveries.models import Delivery, DeliveryStatus

log = structlog.get_logger(__name__)

Lookup = dict[str, str]


@dataclass(frozen=True)
class StatusReport:
    provider: str
    provider_message_id: str
    status: str  # a DeliveryStatus value: delivered, failed or bounced
    reason: str = ""


def apply_status_report(report: StatusReport) -> Delivery | None:
    """Record what the provider says happened to a message it accepted.

    Only a delivery in ``sent`` moves, so reports arriving late, twice or out of order
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
    now = timezone.now()
    fields: dict[str, object] = {"status": report.status, "reason": report.reason, "updated_at": now}
    if report.status == DeliveryStatus.DELIVERED:
        fields["delivered_at"] = now
    moved = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENT).update(**fields)
    log.info(
        "delivery_status_reported",
        delivery_id=delivery.pk,
        provider=report.provider,
        status=report.status,
        reason=report.reason,
        applied=bool(moved),
    )
    return delivery
