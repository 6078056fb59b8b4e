from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class TemplatesAdminConfig(AppConfig):
    name = "templates_admin"
    verbose_name = "Notification templates"

    def ready(self) -> None:
        from templates_admin.catalog import template_changed
        from templates_admin.models import NotificationTemplate

        post_save.connect(template_changed, sender=NotificationTemplate, dispatch_uid="template_saved")
        post_delete.connect(template_changed, sender=NotificationTemplate, dispatch_uid="template_deleted")
