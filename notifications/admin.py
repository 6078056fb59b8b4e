from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.models import ApiKey, Device, Notification, Subscriber, Topic, TopicMembership


class DeviceInline(admin.TabularInline):
    model = Device
    extra = 0
    fields = ["platform", "token", "active", "last_seen_at"]


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["user_id", "email", "phone", "timezone", "locale", "created_at"]
    list_filter = ["timezone", "locale"]
    search_fields = ["user_id", "email", "phone"]
    inlines = [DeviceInline]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "platform", "active", "created_at", "last_seen_at"]
    list_filter = ["platform", "active"]
    search_fields = ["subscriber__user_id", "token"]
    raw_id_fields = ["subscriber"]


class TopicMembershipInline(admin.TabularInline):
    model = TopicMembership
    extra = 0
    raw_id_fields = ["subscriber"]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "created_at"]
    search_fields = ["key", "name"]
    inlines = [TopicMembershipInline]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "subscriber", "created_at"]
    search_fields = ["event__event_id", "subscriber__user_id"]
    raw_id_fields = ["event", "subscriber"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "hashed_key", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are minted by `manage.py create_api_key`, which shows the secret once.
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset.filter(revoked_at__isnull=True):
            key.revoke()
        self.message_user(request, "Keys revoked.", messages.SUCCESS)
