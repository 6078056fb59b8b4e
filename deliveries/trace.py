"""The why-trace: for each recipient and channel, what the engine decided, why, and when.

Read back from what was stored: the decision (action, reason, rule) that routing wrote once
on each delivery, and the delivery's timeline (deliveries/lifecycle.py), so the API and the
admin answer "why did (not) this user get this?" without a log search and without guessing.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from deliveries.models import Delivery
from notifications.models import Event

MAX_ADMIN_ROWS = 500


def decision_of(delivery: Delivery) -> tuple[str, str]:
    """(``send`` | ``suppress`` | ``defer``, reason), as routing stored it when it decided."""
    return delivery.decision, delivery.decision_reason


def timeline_text(delivery: Delivery) -> str:
    """``decide: deferred (quiet_hours) 22:00:01 → release_due: pending (due) 07:00:00 → …``"""
    return " → ".join(
        f"{step.transition}: {step.status}{f' ({step.reason})' if step.reason else ''} "
        f"{step.at.isoformat(timespec='seconds')}"
        for step in delivery.timeline.all()
    )


def trace_table(event: Event) -> SafeString:
    """The admin's view of the trace: one row per recipient and channel (first 500)."""
    deliveries = (
        Delivery.objects.filter(notification__event=event)
        .select_related("notification__subscriber")
        .prefetch_related("timeline")
        .order_by("notification__subscriber__user_id", "channel")[:MAX_ADMIN_ROWS]
    )
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td><strong>{}</strong></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td></tr>",
        (
            (
                d.notification.subscriber.user_id,
                d.channel,
                *decision_of(d),
                d.decision_rule,
                d.created_at.isoformat(timespec="seconds"),
                d.not_before.isoformat(timespec="seconds") if d.not_before else "",
                d.status,
                timeline_text(d),
            )
            for d in deliveries
        ),
    )
    return format_html(
        '<table class="why-trace"><thead><tr><th>recipient</th><th>channel</th><th>decision</th>'
        "<th>reason</th><th>rule</th><th>decided at</th><th>not before</th><th>status now</th>"
        "<th>timeline</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        rows,
    )
