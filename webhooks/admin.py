"""Admin: endpoints (the secret is never shown), messages with their attempts, replay."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks import services
from webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["id", "url", "enabled", "disabled_reason", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "description"]
    # ``secret`` and ``previous_secret`` are not editable: never shown. Create endpoints through
    # the API, which shows the secret once.
    fields = ["url", "description", "events", "enabled", "disabled_reason", "failing_since"]
    # The URL changes through the API only, which applies the SSRF guard before storing it.
    readonly_fields = ["url", "failing_since"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        services.update_endpoint(obj, {})

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        services.delete_endpoint(obj)


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["attempt", "at", "scheduled_at", "status_code", "duration_ms", "error", "response"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookMessage)
class WebhookMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "webhook_id", "endpoint", "event_type", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "endpoint"]
    list_select_related = ["endpoint", "status_event"]
    readonly_fields = ["endpoint", "status_event", "status", "attempts", "next_attempt_at", "created_at"]
    fields = readonly_fields
    inlines = [AttemptInline]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="type")
    def event_type(self, message: WebhookMessage) -> str:
        return message.status_event.type

    @admin.action(description="Replay the selected messages (same webhook-id, fresh retries)")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookMessage]) -> None:
        count = services.replay(queryset)
        self.message_user(request, f"{count} message(s) will be sent again.", messages.SUCCESS)
