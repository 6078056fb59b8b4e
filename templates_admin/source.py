"""A template's content as plain data, and the email document its parts make.

Everything that checks, renders or caches a template works on this snapshot, so none of it
needs the model (``NotificationTemplate.source()`` makes one from a row).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EMAIL_PARTS = ("subject", "plain", "html")


@dataclass(frozen=True)
class TemplateSource:
    """A snapshot of one active template row, safe to share between threads."""

    pk: int | None  # None: content being previewed or validated before its first save
    version: int
    event_type: str
    channel: str
    locale: str
    subject: str
    text_body: str
    html_body: str
    actions: dict[str, Any] = field(default_factory=dict)  # in-app buttons (templates_admin.actions)
    tags: list[str] = field(default_factory=list)  # in-app message tags (core.tags)


def email_document(source: TemplateSource) -> str:
    """The row as a templated_email file: one block per non-empty part."""
    parts = dict(zip(EMAIL_PARTS, (source.subject, source.text_body, source.html_body), strict=True))
    return "".join(
        f"{{% block {part} %}}{text}{{% endblock {part} %}}" for part, text in parts.items() if text
    )


def part_first_line(source: TemplateSource, part: str) -> int:
    """Line of ``email_document(source)`` on which ``part`` starts, to report field-relative lines."""
    line = 1
    for name, text in zip(EMAIL_PARTS, (source.subject, source.text_body, source.html_body), strict=True):
        if name == part:
            return line
        line += text.count("\n")
    return line
