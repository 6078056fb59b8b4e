from django.contrib import admin

from preferences.models import EventTypeDefault, Preference, QuietHours


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "channel", "event_type", "enabled", "quiet_hours_start", "quiet_hours_end"]
    list_filter = ["channel", "enabled"]
    search_fields = ["subscriber__user_id", "event_type"]
    raw_id_fields = ["subscriber"]


@admin.register(QuietHours)
class QuietHoursAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "start", "end", "timezone", "days", "enabled"]
    list_filter = ["enabled", "timezone"]
    search_fields = ["subscriber__user_id"]
    raw_id_fields = ["subscriber"]


@admin.register(EventTypeDefault)
class EventTypeDefaultAdmin(admin.ModelAdmin):
    """What subscribers without an explicit choice get. A default off never stops ``urgent``."""

    list_display = ["event_type", "channel", "enabled", "updated_at"]
    list_editable = ["enabled"]
    list_filter = ["channel", "enabled"]
    search_fields = ["event_type"]
