"""The realtime app's part of the OpenAPI schema (``GET /api/schema``, drf-spectacular hooks).

The demo endpoints exist only in demo mode, so the schema lists them only then: a client
generated from a production schema has no methods that would answer 404. The inbox
WebSocket is not an HTTP operation OpenAPI can describe, so its protocol goes into the
schema's description, where Swagger UI and ReDoc show it above the operations.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from realtime.demo import DemoOnlyMixin

INBOX_SOCKET_PROTOCOL = """
## Inbox WebSocket: `/ws/inbox/`

The live inbox of one subscriber. Authenticate with a subscriber token (from
`POST /api/subscribers/{user_id}/token`) as `?token=<token>` or as the subprotocol
`token.<token>` (browsers: `new WebSocket(url, ["token." + token])`; the server echoes it).
A missing, bad or expired token: the server accepts, then closes with code **4401**; the
socket is also closed with 4401 when its token expires. Get a fresh token and reconnect.
Frames are JSON text. Counts are `unreadCount`, `unseenCount`, `totalCount` and
`unreadByPriority` (`{"low", "normal", "high", "urgent"}`), archived and snoozed messages
not counted. A message has the shape of `InboxMessage` below.

| direction | message |
| --- | --- |
| server → client, on connect | `{"type": "hello", "userId", ...counts, "messages": [latest 20 neither archived nor snoozed]}` |
| server → client, new message | `{"type": "notification", "message": {...}, ...counts}`; `"resurfaced": true` when a snoozed message is due (back unread and unseen) |
| server → client, after any change (any tab, process or the HTTP API) | `{"type": "counts", ...counts, "change": {"action", "ids": [...], "at", ...}}`; `action` is `read`, `seen`, `archive`, `unarchive`, `read_all`, `snooze` (with `until`), `unsnooze`, `action` (a button completed: `key`, `completedAt`), `bulk_<action>` (with `updated`) or `expired` (retention); `ids` is empty when more than 1,000 changed: re-read the list |
| client → server | `{"type": "mark_read", "id": 42}` or `"ids": [up to 100]`; `mark_seen`, `archive` and `unsnooze` alike; `{"type": "snooze", "id": 42, "duration": "1h"}` (or `"until"`, as `POST /api/inbox/{message_id}/snooze`); `{"type": "mark_all_read"}`; `{"type": "ping", "requestId"}` → `{"type": "pong", "requestId"}`. Any client message may carry a `requestId`, echoed in its error |
| server → client, refused | `{"type": "error", "error": "invalid_json"\\|"unknown_type"\\|"invalid_ids"\\|"not_found"\\|"archived", "requestId"}`, or `"invalid_snooze"` with `"errors": {field: [messages]}`; the socket stays open |
| server → client, too fast | `{"type": "error", "error": "rate_limited", "requestId", "retryAfter": seconds}`: the action was not carried out (`RELAY_SOCKET_ACTION_RATE` a second, bursts of `RELAY_SOCKET_ACTION_BURST`) |

A change is answered by `counts` on every open socket of the subscriber, the one that asked
included, so several tabs stay in step. Pushes are at most once: a socket that missed one
catches up from `hello` when it reconnects.
"""


def drop_demo_endpoints_unless_demo(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """Preprocessing hook: leave out the views that answer 404 outside demo mode."""
    if settings.RELAY_DEMO:
        return endpoints
    return [endpoint for endpoint in endpoints if not _demo_only(endpoint[3])]


def _demo_only(callback: Any) -> bool:
    view_class = getattr(callback, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, DemoOnlyMixin)


def describe_inbox_socket(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: the WebSocket protocol after the API's own description."""
    info = result.setdefault("info", {})
    info["description"] = info.get("description", "") + "\n" + INBOX_SOCKET_PROTOCOL
    return result
