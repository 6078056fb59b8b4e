"""The realtime app's part of the OpenAPI schema (``GET /api/schema``, drf-spectacular hooks).

The demo endpoints exist only in demo mode, so the schema lists them only then: a client
generated from a production schema has no methods that would answer 404. The inbox
WebSocket is not an HTTP operation OpenAPI can describe, so its protocol goes into the
schema's description, where Swagger UI and ReDoc show it above the operations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from realtime.demo import DemoOnlyMixin

# Markdown, kept beside the consumer it describes (tables cannot be wrapped into code lines).
INBOX_SOCKET_PROTOCOL = (Path(__file__).parent / "socket_protocol.md").read_text()


def drop_demo_endpoints_unless_demo(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """Preprocessing hook: leave out the views that answer 404 outside demo mode."""
    if settings.RELAY_DEMO:
        return endpoints
    return [endpoint for endpoint in endpoints if not _demo_only(endpoint[3])]


def _demo_only(callback: Any) -> bool:
    view_class = getattr(callback, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, DemoOnlyMixin)


def describe_inbox_socket(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: the WebSocket protocol after the API's own description."""
    info = result.setdefault("info", {})
    info["description"] = info.get("description", "") + "\n" + INBOX_SOCKET_PROTOCOL
    return result
