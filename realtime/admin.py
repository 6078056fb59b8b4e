from django.contrib import admin

from realtime.models import InboxCounter, InboxMessage


@admin.register(InboxMessage)
class InboxMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "subscriber",
        "event_type",
        "title",
        "priority",
        "created_at",
        "read_at",
        "archived_at",
    ]
    list_filter = ["event_type", "priority"]
    search_fields = ["subscriber__user_id", "title"]
    raw_id_fields = ["subscriber", "delivery"]


@admin.register(InboxCounter)
class InboxCounterAdmin(admin.ModelAdmin):
    """Read only: ``realtime.counters`` is their one writer (``repair_inbox_counters`` fixes them)."""

    list_display = ["subscriber", "dimension", "value", "total", "unread", "unseen"]
    list_filter = ["dimension"]
    search_fields = ["subscriber__user_id", "value"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
