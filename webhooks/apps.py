from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Status webhooks"

    def ready(self) -> None:
        from deliveries.signals import status_changed
        from realtime.signals import inbox_state_changed
        from webhooks import producers
        from workflows.signals import runs_ended

        status_changed.connect(producers.on_delivery_status, dispatch_uid="webhooks.deliveries")
        inbox_state_changed.connect(producers.on_inbox_state, dispatch_uid="webhooks.inbox")
        runs_ended.connect(producers.on_runs_ended, dispatch_uid="webhooks.workflows")
