"""Writes to templates: every save keeps the content it replaces, and any version comes back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog
from django.db import transaction
from django.utils import timezone

from templates_admin.models import NotificationTemplate, TemplateVersion

log = structlog.get_logger(__name__)

VERSIONED_FIELDS = ("subject", "text_body", "html_body", "actions", "tags", "active")


def _snapshot(template: NotificationTemplate) -> tuple[object, ...]:
    return tuple(getattr(template, field) for field in VERSIONED_FIELDS)


def save_template(template: NotificationTemplate, *, saved_by: str) -> NotificationTemplate:
    """Save ``template``; if its content changed, keep the previous content as a version."""
    with transaction.atomic():
        if template.pk is not None:
            previous = NotificationTemplate.objects.select_for_update().get(pk=template.pk)
            if _snapshot(previous) != _snapshot(template):
                TemplateVersion.objects.create(
                    template=previous,
                    version=previous.version,
                    saved_by=previous.updated_by,
                    saved_at=previous.updated_at or timezone.now(),
                    **{field: getattr(previous, field) for field in VERSIONED_FIELDS},
                )
                template.version = previous.version + 1
        template.updated_by = saved_by
        template.save()
    log.info("template_saved", template_id=template.pk, version=template.version, saved_by=saved_by)
    return template


def rollback_template(template: NotificationTemplate, version: int, *, saved_by: str) -> NotificationTemplate:
    """Bring back the words of ``version`` as a new version; the current words are kept too."""
    old = template.versions.get(version=version)
    template.subject, template.text_body, template.html_body = old.subject, old.text_body, old.html_body
    template.actions, template.tags = old.actions, old.tags
    save_template(template, saved_by=saved_by)
    log.info("template_rolled_back", template_id=template.pk, to_version=version, version=template.version)
    return template


@dataclass
class StarterReport:
    """Event types whose starter templates were saved, and those left as they were."""

    installed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def install_starter_templates(templates: Iterable[NotificationTemplate], *, saved_by: str) -> StarterReport:
    """Save ``templates`` for every event type that has no template yet, all or nothing.

    Starter words (demo_setup's) must never replace words staff wrote, nor bring back a template
    they deactivated, so an event type with any template, active or not, is skipped whole; run
    again, this changes nothing. Each template is checked as the admin checks it.
    """
    by_type: dict[str, list[NotificationTemplate]] = {}
    for template in templates:
        by_type.setdefault(template.event_type, []).append(template)
    report = StarterReport()
    with transaction.atomic():
        existing = set(
            NotificationTemplate.objects.filter(event_type__in=by_type).values_list("event_type", flat=True)
        )
        for event_type, group in by_type.items():
            if event_type in existing:
                report.skipped.append(event_type)
                continue
            for template in group:
                template.full_clean()
                save_template(template, saved_by=saved_by)
            report.installed.append(event_type)
    return report
