from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from realtime.signals import inbox_changed
        from workflows.wake import on_inbox_changed

        inbox_changed.connect(on_inbox_changed, dispatch_uid="workflows.wake")
