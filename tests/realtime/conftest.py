"""Fixtures of the inbox tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from channels.layers import channel_layers


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    """Each test runs in its own event loop; its own channel layer keeps no receive state across."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
