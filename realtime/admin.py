from django.contrib import admin

from realtime.models import InboxMessage


@admin.register(InboxMessage)
class InboxMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "subscriber", "event_type", "title", "created_at", "read_at", "archived_at"]
    list_filter = ["event_type"]
    search_fields = ["subscriber__user_id", "title"]
    raw_id_fields = ["subscriber", "delivery"]
