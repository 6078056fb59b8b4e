"""Rendering what a delivery says, per channel.

The template is looked up along the locale chain (``de-AT`` -> ``de`` -> DEFAULT_LOCALE) and
rendered in the sandbox engine: HTML autoescaped, text channels not. With no template for the
event type and channel, the built-in default turns the event data into readable text, so an
event type nobody wrote words for still produces a sensible message. Anything wrong with a
staff template raises ``TemplateRenderError``; route records it on the delivery.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from django.template import Context, Template, TemplateDoesNotExist
from django.utils.html import strip_tags
from render_block import BlockNotFound
from render_block.django import django_render_block

from notifications.models import Event, Subscriber
from templates_admin.actions import ActionSpec, message_actions, normalize_actions
from templates_admin.catalog import catalog
from templates_admin.loader import DatabaseOrigin, email_template_name
from templates_admin.locales import fallback_chain
from templates_admin.measure import fit_push, sms_size
from templates_admin.sandbox import allow_defaults, compile_source, sandbox_engine
from templates_admin.source import EMAIL_PARTS, TemplateSource, email_document, part_first_line


class TemplateRenderError(Exception):
    """A template that does not render; the message says where and why, with the line."""


def humanize(event_type: str) -> str:
    return event_type.replace(".", " ").replace("_", " ").replace("-", " ").strip().capitalize()


def data_lines(data: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in data.items())


def subscriber_context(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "userId": subscriber.user_id,
        "email": subscriber.email,
        "phone": subscriber.phone,
        "locale": subscriber.locale,
        "timezone": subscriber.timezone,
        "data": subscriber.data or {},
    }


def event_context(event: Event) -> dict[str, Any]:
    return {
        "eventId": event.event_id,
        "eventType": event.event_type,
        "priority": event.priority,
        "locale": event.locale,
        "metadata": event.metadata or {},
    }


def template_context(
    data: dict[str, Any], subscriber: dict[str, Any], event: dict[str, Any]
) -> dict[str, Any]:
    """The event data's keys at the top level and under ``data``, plus ``subscriber`` and ``event``.

    Plain copies only: a template never sees a model instance (no methods to call) and cannot
    change the data another channel renders from.
    """
    data, subscriber, event = copy.deepcopy((data or {}, subscriber, event))
    return {**data, "data": data, "subscriber": subscriber, "event": event}


def render(
    event: Event,
    subscriber: Subscriber,
    channel: str,
    template: str = "",
    extra: Mapping[str, Any] | None = None,
    actions: ActionSpec | None = None,
) -> dict[str, Any]:
    """The content of one delivery; the event's locale wins over the subscriber's.

    ``template`` names another event type whose templates to use (a workflow step's choice);
    ``extra`` adds to the context (a workflow's ``digest``); ``actions`` (a workflow step's
    buttons) replace the template's.
    """
    context = template_context(event.data, subscriber_context(subscriber), event_context(event))
    context.update(copy.deepcopy(dict(extra or {})))
    locale = event.locale or subscriber.locale
    return render_content(template or event.event_type, channel, locale, context, actions)


def render_content(
    event_type: str, channel: str, locale: str, context: dict[str, Any], actions: ActionSpec | None = None
) -> dict[str, Any]:
    """``actions``, when given, replace the template's buttons."""
    chain = fallback_chain(locale)
    content: dict[str, Any] | None
    if channel == "email":
        content = _email_from_templates(event_type, chain, context)
    else:
        source = catalog.find(event_type, channel, chain)
        content = _text_content(source, context) if source is not None else None
        actions = actions or (source.actions if source is not None else None)
    if content is None:
        content = builtin_content(event_type, channel, context["data"])
    if actions:
        content["actions"] = render_actions(actions, context, channel)
    return finish(channel, content, context["data"])


def render_source(source: TemplateSource, context: dict[str, Any]) -> dict[str, Any]:
    """One template's content, saved or not: what the admin preview shows."""
    if source.channel == "email":
        template = _compile(email_document(source), "email")
        content = _email_content(template, context, source)
    else:
        content = _text_content(source, context)
        if source.actions:
            content["actions"] = render_actions(source.actions, context, source.channel)
    return finish(source.channel, content, context["data"])


def builtin_content(event_type: str, channel: str, data: dict[str, Any]) -> dict[str, Any]:
    title = str(data.get("title") or data.get("subject") or humanize(event_type))
    body = str(data.get("body") or data.get("message") or data_lines(data))
    content: dict[str, Any] = {"title": title, "body": body}
    if channel == "email":
        action_url = data.get("actionUrl")
        content["subject"] = title
        content["text"] = f"{body}\n\n{action_url}" if action_url else body
    return content


def finish(channel: str, content: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Common keys for every provider and the channel's limits."""
    if data.get("actionUrl") and "actionUrl" not in content:
        content["actionUrl"] = str(data["actionUrl"])
    if channel == "email":
        content.setdefault("title", content["subject"])
        content.setdefault("body", content["text"])
    elif channel == "sms":
        size = sms_size(content["body"])
        content["encoding"], content["segments"] = size.encoding, size.segments
    elif channel == "push":
        content["title"], content["body"] = fit_push(content["title"], content["body"])
    return content


def _email_from_templates(
    event_type: str, chain: list[str], context: dict[str, Any]
) -> dict[str, Any] | None:
    names = [email_template_name(event_type, locale) for locale in chain]
    try:
        template = allow_defaults(sandbox_engine().select_template(names))
    except TemplateDoesNotExist:
        return None
    except Exception as error:  # a file template that does not compile
        raise TemplateRenderError(_describe("email", error)) from error
    origin = template.origin
    return _email_content(template, context, origin.source if isinstance(origin, DatabaseOrigin) else None)


def _email_content(
    template: Template, context: dict[str, Any], source: TemplateSource | None
) -> dict[str, Any]:
    """subject/plain/html blocks, rendered as django-templated-email renders them."""
    parts: dict[str, str] = {}
    for part in EMAIL_PARTS:
        first_line = part_first_line(source, part) if source is not None else 1
        try:
            parts[part] = _plain(
                django_render_block(
                    SimpleNamespace(template=template),  # type: ignore[arg-type]
                    part,
                    Context(context, autoescape=part == "html"),
                )
            )
        except BlockNotFound:
            continue
        except Exception as error:
            raise TemplateRenderError(_describe(f"email {part}", error, first_line)) from error
    html = parts.get("html", "")
    return {
        "subject": " ".join(parts.get("subject", "").split()) or humanize(context["event"]["eventType"]),
        "text": parts.get("plain") or strip_tags(html).strip(),
        "html": html,
    }


def _text_content(source: TemplateSource, context: dict[str, Any]) -> dict[str, Any]:
    """Title and body of an SMS, push or in-app template, never autoescaped."""
    title = _render_text(source.subject, context, f"{source.channel} title")
    body = _render_text(source.text_body, context, f"{source.channel} body")
    content: dict[str, Any] = {
        "title": title.strip() or humanize(context["event"]["eventType"]),
        "body": body.strip(),
    }
    if source.tags:
        content["tags"] = list(source.tags)
    return content


def render_actions(spec: dict[str, Any], context: dict[str, Any], channel: str) -> list[dict[str, Any]]:
    """The message's buttons (``templates_admin.actions``), labels and URLs rendered."""
    try:
        return message_actions(
            normalize_actions(spec),
            lambda text, where: _render_text(text, context, f"{channel} action {where}"),
        )
    except ValueError as error:
        raise TemplateRenderError(f"{channel} actions: {error}") from error


def _render_text(text: str, context: dict[str, Any], where: str) -> str:
    if not text:
        return ""
    template = _compile(text, where)
    try:
        return _plain(template.render(Context(context, autoescape=False)))
    except Exception as error:
        raise TemplateRenderError(_describe(where, error)) from error


def _compile(text: str, where: str) -> Template:
    try:
        return compile_source(text)
    except Exception as error:
        raise TemplateRenderError(_describe(where, error)) from error


def _plain(rendered: str) -> str:
    """Rendered output is a SafeString; as content it is data, escaped wherever it is shown."""
    return str.__str__(rendered)


def _describe(where: str, error: Exception, first_line: int = 1) -> str:
    """'email html line 3: missing variable 'userName'' (line relative to the field)."""
    debug = getattr(error, "template_debug", None)
    line = f" line {debug['line'] - first_line + 1}" if debug else ""
    return f"{where}{line}: {error}"
