from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Field
from django.http import HttpRequest

from core.channel_names import channel_form_field
from preferences.models import ANY, EventTypeDefault, Preference, QuietHours


class ChannelChoiceAdmin(admin.ModelAdmin):
    """The channel column offers the registered channels and "any"."""

    def formfield_for_dbfield(self, db_field: Field, request: HttpRequest, **kwargs: Any) -> forms.Field:
        if db_field.name == "channel":
            return channel_form_field((ANY, "Any channel"), initial=ANY)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Preference)
class PreferenceAdmin(ChannelChoiceAdmin):
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
class EventTypeDefaultAdmin(ChannelChoiceAdmin):
    """What subscribers without an explicit choice get. A default off never stops ``urgent``."""

    list_display = ["event_type", "channel", "enabled", "updated_at"]
    list_editable = ["enabled"]
    list_filter = ["channel", "enabled"]
    search_fields = ["event_type"]
