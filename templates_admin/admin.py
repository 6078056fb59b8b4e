"""Staff edit, preview and roll back templates here, without a deploy."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Field
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from core.channel_names import channel_form_field
from templates_admin.forms import DraftPreviewForm
from templates_admin.models import NotificationTemplate, TemplateVersion
from templates_admin.preview import parse_sample, preview
from templates_admin.services import rollback_template, save_template


class VersionInline(admin.TabularInline):
    model = TemplateVersion
    extra = 0
    can_delete = False
    fields = ["version", "saved_by", "saved_at", "subject", "rollback"]
    readonly_fields = fields
    verbose_name_plural = "Earlier versions"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="")
    def rollback(self, version: TemplateVersion) -> str:
        # The button submits the surrounding change form (and its CSRF token) to the rollback view.
        url = reverse(
            "admin:templates_admin_notificationtemplate_rollback", args=[version.template_id, version.version]
        )
        return format_html(
            '<button type="submit" class="button" formaction="{}" formnovalidate>Roll back to v{}</button>',
            url,
            version.version,
        )


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    list_display = ["event_type", "channel", "locale", "active", "version", "updated_by", "updated_at"]
    list_filter = ["channel", "locale", "active", "event_type"]
    search_fields = ["event_type", "subject", "text_body"]
    readonly_fields = ["version", "updated_by", "updated_at"]
    fields = [
        ("event_type", "channel", "locale", "active"),
        "subject",
        "text_body",
        "html_body",
        "actions",
        "tags",
        "sample_data",
        ("version", "updated_by", "updated_at"),
    ]
    inlines = [VersionInline]
    change_form_template = "admin/templates_admin/notificationtemplate/change_form.html"

    def formfield_for_dbfield(self, db_field: Field, request: HttpRequest, **kwargs: Any) -> forms.Field:
        if db_field.name == "channel":
            return channel_form_field()
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: NotificationTemplate, form: Any, change: bool) -> None:
        save_template(obj, saved_by=request.user.get_username())

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "preview/",
                view(self.draft_preview_view),
                name="templates_admin_notificationtemplate_draft_preview",
            ),
            path(
                "<int:object_id>/preview/",
                view(self.preview_view),
                name="templates_admin_notificationtemplate_preview",
            ),
            path(
                "<int:object_id>/rollback/<int:version>/",
                view(self.rollback_view),
                name="templates_admin_notificationtemplate_rollback",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The saved template rendered with sample JSON the staff member can edit and resubmit."""
        template = get_object_or_404(NotificationTemplate, pk=object_id)
        if not self.has_view_permission(request, template):
            return HttpResponse(status=403)
        raw = (
            request.POST.get("sample", "")
            if request.method == "POST"
            else json.dumps(template.sample_data, indent=2)
        )
        status, result, sample_error = 200, None, ""
        try:
            result = preview(template.source(), parse_sample(raw), request.user.email)
        except ValueError as error:
            status, sample_error = 400, str(error)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": template,
            "title": f"Preview: {template}",
            "sample": raw,
            "sample_error": sample_error,
            "preview": result,
        }
        return TemplateResponse(
            request, "admin/templates_admin/notificationtemplate/preview.html", context, status=status
        )

    def draft_preview_view(self, request: HttpRequest) -> HttpResponse:
        """JSON for the change form's live preview: the unsaved fields rendered, or field errors."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            return JsonResponse({"errors": {"permission": ["Staff with view permission only."]}}, status=403)
        form = DraftPreviewForm(request.POST)
        if not form.is_valid():
            errors = {field: [str(message) for message in found] for field, found in form.errors.items()}
            return JsonResponse({"errors": errors}, status=400)
        result = preview(form.source(), form.cleaned_data["sample_data"], request.user.email)
        if result.error:
            return JsonResponse({"errors": {"template": [result.error]}}, status=400)
        return JsonResponse({"content": result.content})

    def rollback_view(self, request: HttpRequest, object_id: int, version: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        template = get_object_or_404(NotificationTemplate, pk=object_id)
        if not self.has_change_permission(request, template):
            return HttpResponse(status=403)
        get_object_or_404(TemplateVersion, template=template, version=version)
        rollback_template(template, version, saved_by=request.user.get_username())
        self.message_user(
            request,
            f"Rolled back to the words of v{version}; saved as v{template.version}.",
            messages.SUCCESS,
        )
        return redirect("admin:templates_admin_notificationtemplate_change", template.pk)
