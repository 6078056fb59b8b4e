from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from deliveries.signals import event_detail
        from notifications.signals import event_type_routed
        from realtime.signals import inbox_changed
        from workflows.event_runs import on_event_detail
        from workflows.selectors import has_workflow
        from workflows.wake import on_inbox_changed

        inbox_changed.connect(on_inbox_changed, dispatch_uid="workflows.wake")
        event_detail.connect(on_event_detail, dispatch_uid="workflows.event_runs")
        event_type_routed.connect(has_workflow, dispatch_uid="workflows.has_workflow")
