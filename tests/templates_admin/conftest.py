"""Template tests: a factory for templates and a clean template cache around every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from templates_admin.catalog import catalog
from templates_admin.models import NotificationTemplate
from templates_admin.sandbox import compile_source, sandbox_engine
from templates_admin.services import save_template

MakeTemplate = Callable[..., NotificationTemplate]


@pytest.fixture(autouse=True)
def _fresh_template_cache() -> Iterator[None]:
    """Rows vanish with each test's rollback; the process cache must forget them too."""
    catalog.invalidate()
    yield
    catalog.invalidate()
    sandbox_engine.cache_clear()
    compile_source.cache_clear()


@pytest.fixture
def make_template(db: None) -> MakeTemplate:
    def make(**fields: Any) -> NotificationTemplate:
        fields.setdefault("event_type", "account")
        fields.setdefault("channel", "email")
        fields.setdefault("locale", "en")
        template = NotificationTemplate(**fields)
        template.full_clean()
        return save_template(template, saved_by="tests")

    return make
