"""A Django template loader serving email templates from NotificationTemplate rows.

django-templated-email looks up ``templated_email/<name>.email`` and renders its
``{% block subject %}``, ``{% block plain %}`` and ``{% block html %}``. This loader answers
those names from the database: ``templated_email/<event type>.email`` is the DEFAULT_LOCALE
template, ``templated_email/<locale>/<event type>.email`` any other locale. Listed after the
filesystem loaders, a file with the same name still wins.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.template import Origin, TemplateDoesNotExist
from django.template.loaders.base import Loader

from templates_admin.catalog import catalog
from templates_admin.locales import default_locale, is_locale, normalize_locale
from templates_admin.source import TemplateSource, email_document


def _prefix() -> str:
    return getattr(settings, "TEMPLATED_EMAIL_TEMPLATE_DIR", "templated_email/")


def _suffix() -> str:
    return "." + getattr(settings, "TEMPLATED_EMAIL_FILE_EXTENSION", "email").lstrip(".")


def email_template_name(event_type: str, locale: str) -> str:
    folder = "" if locale == default_locale() else f"{locale}/"
    return f"{_prefix()}{folder}{event_type}{_suffix()}"


def parse_email_template_name(name: str) -> tuple[str, str] | None:
    """(event type, locale) for a name this loader serves, None for any other template."""
    prefix, suffix = _prefix(), _suffix()
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    stem = name[len(prefix) : -len(suffix)]
    locale, _, event_type = stem.rpartition("/")
    if not event_type or (locale and not is_locale(locale)):
        return None  # e.g. the email provider's own layout, templated_email/relay/default.email
    return event_type, normalize_locale(locale) if locale else default_locale()


class DatabaseOrigin(Origin):
    def __init__(self, source: TemplateSource, template_name: str, loader: Loader) -> None:
        super().__init__(
            name=f"notificationtemplate:{source.pk}:v{source.version}",
            template_name=template_name,
            loader=loader,
        )
        self.source = source


class DatabaseLoader(Loader):
    def get_template_sources(self, template_name: str) -> Iterator[Origin]:
        key = parse_email_template_name(template_name)
        if key is None:
            return
        event_type, locale = key
        source = catalog.find(event_type, "email", [locale])
        if source is not None:
            yield DatabaseOrigin(source, template_name, self)

    def get_contents(self, origin: Origin) -> str:
        if not isinstance(origin, DatabaseOrigin):
            raise TemplateDoesNotExist(origin)
        return email_document(origin.source)
