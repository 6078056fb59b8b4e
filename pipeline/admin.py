"""The dead-letter admin: replay or discard, beside each provider's circuit breaker.

It lives in the pipeline, not in ``deliveries``, because replaying publishes to JetStream
(``pipeline.dlq``) and the breakers belong to the providers.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from deliveries.models import DeadLetter
from pipeline import breaker, dlq


class DeadLetterStateFilter(admin.SimpleListFilter):
    """Open dead letters are the ones waiting for an operator; the default view."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("replayed", "Replayed"), ("discarded", "Discarded")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> QuerySet[DeadLetter]:
        if self.value() == "open":
            return queryset.filter(replayed_at__isnull=True, discarded_at__isnull=True)
        if self.value() == "replayed":
            return queryset.filter(replayed_at__isnull=False)
        if self.value() == "discarded":
            return queryset.filter(discarded_at__isnull=False)
        return queryset


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Replay or discard: the selected rows, or with "select all" every row matching the filters.

    The change list also shows each provider's circuit breaker, since an open breaker is the
    usual reason to wait before replaying.
    """

    list_display = ["id", "delivery", "channel", "reason", "created_at", "replayed_at", "discarded_at"]
    list_filter = [DeadLetterStateFilter, "channel", "delivery__status", "created_at"]
    search_fields = [
        "reason",
        "delivery__notification__event__event_id",
        "delivery__notification__subscriber__user_id",
    ]
    date_hierarchy = "created_at"
    raw_id_fields = ["delivery"]
    actions = ["replay_dead_letters", "discard_dead_letters"]

    @admin.action(description="Replay: send the selected deliveries again (same delivery id)")
    def replay_dead_letters(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        report = dlq.replay(queryset)
        level = messages.WARNING if report.unpublished else messages.SUCCESS
        self.message_user(
            request,
            f"Replayed {report.replayed}; {report.already_done} already delivered or in progress "
            f"(nothing sent); {report.unpublished} not published (NATS unavailable, try again).",
            level,
        )

    @admin.action(description="Discard: give up on the selected dead letters")
    def discard_dead_letters(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        self.message_user(request, f"Discarded {dlq.discard(queryset)} dead letters.", messages.SUCCESS)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra_context = {**(extra_context or {}), "breakers": breaker.states()}
        return super().changelist_view(request, extra_context)
