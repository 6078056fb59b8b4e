"""The why-trace: for each recipient and channel, what the engine decided, why, and when.

Read back from the delivery rows (the route stage writes one per decision), so the API and
the admin answer "why did (not) this user get this?" without a log search.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from deliveries.models import Delivery, DeliveryStatus
from notifications.models import Event

MAX_ADMIN_ROWS = 500
DEFER_REASONS = ("quiet_hours", "scheduled")


def decision_of(delivery: Delivery) -> tuple[str, str]:
    """(``send`` | ``suppress`` | ``defer``, reason) as decided when the delivery was routed.

    A deferred delivery keeps ``not_before`` after it was sent, while sending clears its
    reason; the reason is then told apart by the event's ``scheduledAt``.
    """
    if delivery.status == DeliveryStatus.SUPPRESSED:
        return "suppress", delivery.reason
    if delivery.not_before is not None:
        if delivery.reason in DEFER_REASONS:
            return "defer", delivery.reason
        scheduled_at = delivery.notification.event.scheduled_at
        return "defer", "scheduled" if delivery.not_before == scheduled_at else "quiet_hours"
    return "send", ""


def trace_table(event: Event) -> SafeString:
    """The admin's view of the trace: one row per recipient and channel (first 500)."""
    deliveries = (
        Delivery.objects.filter(notification__event=event)
        .select_related("notification__subscriber", "notification__event")
        .order_by("notification__subscriber__user_id", "channel")[:MAX_ADMIN_ROWS]
    )
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td><strong>{}</strong></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                d.notification.subscriber.user_id,
                d.channel,
                *decision_of(d),
                d.created_at.isoformat(timespec="seconds"),
                d.not_before.isoformat(timespec="seconds") if d.not_before else "",
                d.status,
            )
            for d in deliveries
        ),
    )
    return format_html(
        '<table class="why-trace"><thead><tr><th>recipient</th><th>channel</th><th>decision</th>'
        "<th>reason</th><th>decided at</th><th>not before</th><th>status now</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        rows,
    )
