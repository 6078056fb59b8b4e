"""The locked-down template engine staff templates run in.

Only Django's built-in tags and filters, minus the ones that leak server state
(``{% debug %}``) or make no sense outside a request (``{% csrf_token %}``, ``{% load %}``,
``{% url %}``); no template libraries to load. A variable that does not resolve raises
``MissingVariable`` naming it, instead of rendering as an empty string. ``{% if %}``,
``{% for %}`` and ``{% firstof %}`` still treat a missing variable as false, and
``{{ name|default:"friend" }}`` still gives the default, so optional parts stay expressible.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from django.conf import settings
from django.template import Context, Engine, Library, Template, defaultfilters, defaulttags, loader_tags
from django.template.base import FilterExpression, VariableNode

BLOCKED_TAGS = frozenset({"debug", "csrf_token", "load", "url"})

register = Library()
register.tags.update(
    {name: tag for name, tag in defaulttags.register.tags.items() if name not in BLOCKED_TAGS}
)
register.tags.update(loader_tags.register.tags)
register.filters.update(defaultfilters.register.filters)


class MissingVariable(Exception):
    """A template used a variable the context does not have."""

    def __init__(self, variable: str) -> None:
        super().__init__(f"missing variable '{variable}'")
        self.variable = variable


class _RaiseOnMissing(str):
    """Django formats ``string_if_invalid % variable`` when it contains '%s': raise there."""

    def __mod__(self, variable: Any) -> str:
        raise MissingVariable(str(variable))


class SandboxEngine(Engine):
    default_builtins = ["templates_admin.sandbox"]


@cache
def sandbox_engine() -> SandboxEngine:
    """One engine per process; its cached loader is reset when templates change (catalog)."""
    dirs = [str(path) for entry in settings.TEMPLATES for path in entry.get("DIRS", [])]
    return SandboxEngine(
        dirs=dirs,
        loaders=[
            (
                "django.template.loaders.cached.Loader",
                ["django.template.loaders.filesystem.Loader", "templates_admin.loader.DatabaseLoader"],
            )
        ],
        string_if_invalid=_RaiseOnMissing("%s"),
        libraries={},
        debug=True,  # keeps line numbers on syntax and render errors
        autoescape=True,
    )


DEFAULT_FILTERS = frozenset({"default", "default_if_none"})


class _DefaultedExpression(FilterExpression):
    """``{{ x|default:... }}``: a missing ``x`` is None for the filter, as Django does without
    ``string_if_invalid``, instead of an error."""

    __slots__ = ()  # same layout as FilterExpression, so a compiled expression can switch class

    def resolve(self, context: Context, ignore_failures: bool = False) -> Any:
        return super().resolve(context, ignore_failures=True)


def allow_defaults(template: Template) -> Template:
    """Let the default filters catch missing variables in ``template`` (idempotent)."""
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        expression = node.filter_expression
        if any(func.__name__ in DEFAULT_FILTERS for func, _ in expression.filters):
            expression.__class__ = _DefaultedExpression
    return template


@lru_cache(maxsize=1024)
def compile_source(source: str) -> Template:
    """Compiled once per distinct source text; keyed by the text, so edits never go stale."""
    return allow_defaults(sandbox_engine().from_string(source))


def reset_loaded_templates() -> None:
    for template_loader in sandbox_engine().template_loaders:
        template_loader.reset()
