"""What the admin preview shows: a template rendered with sample data, as a subscriber would get it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from templates_admin.rendering import TemplateRenderError, render_source, template_context
from templates_admin.source import TemplateSource

MAX_SAMPLE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Preview:
    content: dict[str, Any] | None
    error: str = ""


def parse_sample(raw: str) -> dict[str, Any]:
    """The sample event data typed in the admin; ValueError says what is wrong with it."""
    if len(raw.encode()) > MAX_SAMPLE_BYTES:
        raise ValueError("Sample data is larger than 64 KiB, the limit of an event.")
    if not raw.strip():
        return {}
    try:
        sample = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"Not valid JSON: {error}") from error
    if not isinstance(sample, dict):
        raise ValueError("Sample data must be a JSON object, like an event's data.")
    return sample


def preview(source: TemplateSource, sample: dict[str, Any], staff_email: str = "") -> Preview:
    """Render ``source`` for a made-up subscriber and event in the template's own locale."""
    subscriber = {
        "userId": "preview-user",
        "email": staff_email or "preview@example.com",
        "phone": "+15555550100",
        "locale": source.locale,
        "timezone": "UTC",
        "data": {},
    }
    event = {
        "eventId": "evt_preview",
        "eventType": source.event_type,
        "priority": "normal",
        "locale": source.locale,
        "metadata": {},
    }
    try:
        return Preview(render_source(source, template_context(sample, subscriber, event)))
    except TemplateRenderError as error:
        return Preview(None, str(error))
