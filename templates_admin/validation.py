"""Save-time checks: a template that would fail for every delivery never reaches route."""

from __future__ import annotations

from typing import Any

from django.template import TemplateSyntaxError

from core.tags import tag_problem
from templates_admin.actions import normalize_actions
from templates_admin.sandbox import sandbox_engine
from templates_admin.source import TemplateSource, email_document

# An email template is a document with a subject and parts; every other channel's template is
# a title and a text body, so a channel added in settings is validated like SMS, push, in-app.
REQUIRED = {"email": ("subject",)}
TEXT_REQUIRED = ("text_body",)
ACTIONS_CHANNEL = "in_app"  # only the inbox shows buttons


def syntax_error(text: str) -> str | None:
    """'line 2: Invalid filter: 'shout'' for a source that does not compile, else None."""
    try:
        sandbox_engine().from_string(text)
    except TemplateSyntaxError as error:
        debug = getattr(error, "template_debug", None)
        return f"line {debug['line']}: {error}" if debug else str(error)
    return None


def template_errors(source: TemplateSource) -> dict[str, list[str]]:
    """Field errors for a template's content: syntax, unknown filters and tags, missing parts."""
    errors: dict[str, list[str]] = {}
    fields = {"subject": source.subject, "text_body": source.text_body, "html_body": source.html_body}
    for field in REQUIRED.get(source.channel, TEXT_REQUIRED):
        if not fields[field].strip():
            errors.setdefault(field, []).append(f"A {source.channel} template needs this field.")
    if source.channel == "email" and not (source.text_body.strip() or source.html_body.strip()):
        errors.setdefault("text_body", []).append("An email needs a text body, an HTML body or both.")
    if source.channel != "email" and source.html_body.strip():
        errors.setdefault("html_body", []).append("Only email templates have an HTML body.")
    for field, text in fields.items():
        problem = syntax_error(text) if text else None
        if problem:
            errors.setdefault(field, []).append(problem)
    actions_problem = actions_error(source.actions, source.channel)
    if actions_problem:
        errors["actions"] = [actions_problem]
    if source.tags:
        tags_problem = tag_problem(source.tags)
        if source.channel != ACTIONS_CHANNEL:
            tags_problem = f"Only {ACTIONS_CHANNEL} messages have tags."
        if tags_problem:
            errors["tags"] = [tags_problem]
    if source.channel == "email" and not errors:
        problem = syntax_error(email_document(source))
        if problem:  # e.g. an {% endblock %} inside a body closes the part's block early
            errors.setdefault("text_body", []).append(f"The parts do not combine into one email: {problem}")
    return errors


def actions_error(actions: Any, channel: str) -> str | None:
    """What is wrong with a template's or a send step's buttons: their shape, the channel, or a
    label or URL that does not compile; None when nothing is."""
    if not actions:
        return None
    if channel != ACTIONS_CHANNEL:
        return f"Only {ACTIONS_CHANNEL} messages have action buttons."
    try:
        spec = normalize_actions(actions)
    except ValueError as error:
        return str(error)
    for slot, button in spec.items():
        for field in ("label", "url"):
            problem = syntax_error(button[field]) if field in button else None
            if problem:
                return f"{slot}.{field}: {problem}"
    return None
