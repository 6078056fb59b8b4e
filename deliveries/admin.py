"""Deliveries with their timeline and attempts; an event with its notifications and why-trace.

The event's admin lives here, not in ``notifications``, because it shows deliveries, which sit
above notifications (docs/ARCHITECTURE.md, Layers).
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.safestring import SafeString

from deliveries.models import Delivery, DeliveryAttempt, DeliveryTransition
from deliveries.trace import trace_table
from notifications.models import Event, Notification


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["number", "provider", "outcome", "error", "duration_ms", "created_at"]
    readonly_fields = fields


class TimelineInline(admin.TabularInline):
    model = DeliveryTransition
    extra = 0
    can_delete = False
    fields = ["transition", "status", "reason", "attempt", "at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read-only: a delivery moves only through deliveries/lifecycle.py (replay a failed one
    from the dead letters)."""

    list_display = ["id", "channel", "status", "reason", "decision", "attempts", "provider", "created_at"]
    list_filter = ["channel", "status", "decision", "provider"]
    search_fields = ["notification__event__event_id", "notification__subscriber__user_id", "reason"]
    date_hierarchy = "created_at"
    raw_id_fields = ["notification"]
    inlines = [TimelineInline, AttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ["delivery", "number", "provider", "outcome", "duration_ms", "created_at"]
    list_filter = ["outcome", "provider"]
    raw_id_fields = ["delivery"]


class NotificationInline(admin.TabularInline):
    model = Notification
    extra = 0
    fields = ["subscriber", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "event_type", "user_id", "topic", "priority", "accepted_at"]
    list_filter = ["event_type", "priority"]
    search_fields = ["event_id", "user_id", "topic"]
    date_hierarchy = "accepted_at"
    readonly_fields = [*(f.name for f in Event._meta.fields), "why_trace"]
    inlines = [NotificationInline]

    @admin.display(description="Why: decision per recipient and channel")
    def why_trace(self, event: Event) -> SafeString:
        return trace_table(event)
