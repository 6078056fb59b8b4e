"""Fixtures shared by the preference-engine tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(params=["redis", "database"])
def backend(request: pytest.FixtureRequest, settings: Any) -> str:
    """Run a test on the Redis fast path and again on the database fallback."""
    if request.param == "database":
        settings.REDIS_URL = ""
    elif not settings.REDIS_URL:
        pytest.skip("REDIS_URL not set")
    return str(request.param)
