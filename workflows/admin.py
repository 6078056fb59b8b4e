"""Staff define workflows here: steps as YAML or JSON text, each save a new version, every
version kept and shown as a table of steps in words."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from workflows import services
from workflows.forms import WorkflowForm
from workflows.models import Run, StepState, Workflow, WorkflowVersion
from workflows.summaries import condition_text, summary


def steps_table(steps: list[dict[str, Any]]) -> SafeString:
    """The steps as an HTML table: #, id, type, the config in words, the condition."""
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
        (
            (number, step["id"], step["type"], summary(step), condition_text(step))
            for number, step in enumerate(steps, start=1)
        ),
    )
    return format_html(
        '<table class="workflow-steps"><thead><tr><th>#</th><th>id</th><th>type</th><th>does</th>'
        "<th>if</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


class VersionInline(admin.TabularInline):
    model = WorkflowVersion
    extra = 0
    can_delete = False
    fields = ["version", "name", "created_at", "is_current", "steps_view"]
    readonly_fields = fields
    ordering = ["-version"]
    verbose_name_plural = "Versions (immutable; runs stay on the version they started on)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkflowVersion]:
        return super().get_queryset(request).select_related("workflow")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="current", boolean=True)
    def is_current(self, version: WorkflowVersion) -> bool:
        return version.workflow.current_id == version.pk

    @admin.display(description="steps")
    def steps_view(self, version: WorkflowVersion) -> SafeString:
        return steps_table(version.steps)


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    form = WorkflowForm
    fields = ["key", "name", "steps"]
    list_display = ["key", "name", "current_version", "updated_at"]
    list_select_related = ["current"]
    search_fields = ["key", "name"]
    inlines = [VersionInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Workflow | None = None) -> list[str]:
        return ["key"] if obj is not None else []

    @admin.display(description="current version", ordering="current__version")
    def current_version(self, workflow: Workflow) -> str:
        return f"v{workflow.current.version}" if workflow.current else "deleted"

    def save_model(self, request: HttpRequest, obj: Workflow, form: WorkflowForm, change: bool) -> None:
        version, outcome = services.publish_changes(obj.key, form.cleaned_data["definition"])
        obj.pk = version.workflow.pk
        if outcome == "unchanged":
            text = f"No change: {obj.key} stays at v{version.version}."
        else:
            text = f"Published {obj.key} v{version.version}."
        self.message_user(request, text, messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: Workflow) -> None:
        services.delete(obj.key)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Workflow]) -> None:
        for workflow in queryset:
            services.delete(workflow.key)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        """Deleting unpublishes: the versions stay, so the confirmation lists only the workflows."""
        keys = [f"{workflow.key}: unpublished, its versions kept for runs in flight" for workflow in objs]
        return keys, {"workflows": len(keys)}, set(), []


class StepStateInline(admin.TabularInline):
    model = StepState
    extra = 0
    can_delete = False
    fields = ["position", "step_id", "type", "status", "reason", "waiting_until", "values", "delivery"]
    readonly_fields = fields
    ordering = ["position"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    """Runs, read-only: where each is, filtered by status (waiting, digested, ...) and workflow."""

    list_display = [
        "id",
        "workflow",
        "version_number",
        "user_id",
        "status",
        "reason",
        "created_at",
        "updated_at",
    ]
    list_filter = ["status", "version__workflow__key"]
    list_select_related = ["version__workflow", "subscriber"]
    search_fields = ["subscriber__user_id", "notification__event__event_id", "cancellation_key"]
    fields = ["version", "notification", "subscriber", "status", "reason", "cancellation_key", "context"]
    readonly_fields = fields
    inlines = [StepStateInline]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="workflow", ordering="version__workflow__key")
    def workflow(self, run: Run) -> str:
        return run.version.workflow.key

    @admin.display(description="version", ordering="version__version")
    def version_number(self, run: Run) -> str:
        return f"v{run.version.version}"

    @admin.display(description="user", ordering="subscriber__user_id")
    def user_id(self, run: Run) -> str:
        return run.subscriber.user_id
