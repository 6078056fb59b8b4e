"""Every API call, described once as an ``Op``: method, path, query, body and how to read
the answer. ``Relay`` and ``AsyncRelay`` expose these builders as their methods and differ
only in how they send an ``Op``, so the two can never drift apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypedDict, TypeVar, Unpack, cast
from urllib.parse import quote

from relay_client import models

T = TypeVar("T")


@dataclass(frozen=True)
class Op(Generic[T]):
    """One request, built before the first attempt and sent unchanged by every retry."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    # Safe to send again after a lost connection: reads, PUT/DELETE, and events (their eventId).
    idempotent: bool = True


def _as(_: type[T]) -> Callable[[Any], T]:
    """The decoded JSON, typed as the model the API documents for it."""
    return lambda body: cast(T, body)


def _none(_: Any) -> None:
    return None


def _seg(value: str | int) -> str:
    """A path segment: user ids and event types may hold ``/``, ``?`` or ``#``."""
    return quote(str(value), safe="")


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """The given fields only: an argument left as None is not sent at all."""
    return {key: value for key, value in values.items() if value is not None}


def _query(values: Mapping[str, Any]) -> dict[str, str]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else str(value)
        for key, value in _compact(values).items()
    }


def new_event_id() -> str:
    """An eventId for an event sent without one: made once, kept by every retry of that event."""
    return f"evt_{uuid.uuid4().hex}"


# Events


def trigger(
    event_type: str,
    *,
    user_id: str | None = None,
    topic: str | None = None,
    data: Mapping[str, Any] | None = None,
    channels: Sequence[str] | None = None,
    priority: models.Priority | None = None,
    event_id: str | None = None,
    cancellation_key: str | None = None,
    scheduled_at: datetime | str | None = None,
    expires_at: datetime | str | None = None,
    metadata: Mapping[str, Any] | None = None,
    locale: str | None = None,
) -> Op[models.TriggerResult]:
    """Submit one event (``POST /api/events``) to ``user_id`` or ``topic``.

    Without ``event_id`` one is made here, once: every retry sends the same body with the
    same eventId, so the server answers a retry of an event it already stored as a duplicate
    and delivers nothing twice. The eventId is in the result.
    """
    body = _compact(
        {
            "eventId": event_id or new_event_id(),
            "eventType": event_type,
            "userId": user_id,
            "topic": topic,
            "channels": list(channels) if channels is not None else None,
            "priority": priority,
            "data": dict(data) if data is not None else {},
            "cancellationKey": cancellation_key,
            "scheduledAt": _iso(scheduled_at),
            "expiresAt": _iso(expires_at),
            "metadata": dict(metadata) if metadata is not None else None,
            "locale": locale,
        }
    )
    return Op("POST", "/api/events", _as(models.TriggerResult), json=body)


def trigger_batch(events: Iterable[Mapping[str, Any]]) -> Op[models.BatchResult]:
    """Submit up to 500 events (``POST /api/events/batch``), each an API body (camelCase);
    one without ``eventId`` gets one here, kept by every retry. Each item of the result has
    its own ``code``."""
    bodies = [
        {"eventId": new_event_id(), **event} if not event.get("eventId") else dict(event) for event in events
    ]
    return Op("POST", "/api/events/batch", _as(models.BatchResult), json={"events": bodies})


def get_event(event_id: str) -> Op[models.EventDetail]:
    """The event with its notifications, deliveries and workflow runs."""
    return Op("GET", f"/api/events/{_seg(event_id)}", _as(models.EventDetail))


# Subscribers


def identify(
    user_id: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    timezone: str | None = None,
    locale: str | None = None,
    data: Mapping[str, Any] | None = None,
    addresses: Mapping[str, str] | None = None,
) -> Op[models.Subscriber]:
    """Create or update a subscriber (``PUT /api/subscribers/<userId>``); only given fields change."""
    body = _compact(
        {
            "email": email,
            "phone": phone,
            "timezone": timezone,
            "locale": locale,
            "data": dict(data) if data is not None else None,
            "addresses": dict(addresses) if addresses is not None else None,
        }
    )
    return Op("PUT", f"/api/subscribers/{_seg(user_id)}", _as(models.Subscriber), json=body)


def get_subscriber(user_id: str) -> Op[models.Subscriber]:
    return Op("GET", f"/api/subscribers/{_seg(user_id)}", _as(models.Subscriber))


def delete_subscriber(user_id: str) -> Op[None]:
    """Delete a subscriber and everything stored for them."""
    return Op("DELETE", f"/api/subscribers/{_seg(user_id)}", _none)


def subscriber_token(user_id: str) -> Op[models.SubscriberToken]:
    """A signed, expiring token for that subscriber's inbox, socket and preferences."""
    return Op("POST", f"/api/subscribers/{_seg(user_id)}/token", _as(models.SubscriberToken))


# Preferences


def preferences(user_id: str | None = None) -> Op[list[models.Preference]]:
    """A subscriber's preference rows (``user_id`` with an API key; a token reads its own)."""
    return Op(
        "GET",
        "/api/preferences",
        lambda body: cast(list[models.Preference], body["preferences"]),
        params=_query({"userId": user_id}),
    )


def create_preference(
    channel: str,
    event_type: str,
    *,
    enabled: bool = True,
    user_id: str | None = None,
    quiet_hours_start: str | None = None,
    quiet_hours_end: str | None = None,
) -> Op[models.Preference]:
    """A new row (409 ``Conflict`` if that userId/channel/eventType has one)."""
    body = _compact(
        {
            "userId": user_id,
            "channel": channel,
            "eventType": event_type,
            "enabled": enabled,
            "quietHoursStart": quiet_hours_start,
            "quietHoursEnd": quiet_hours_end,
        }
    )
    return Op("POST", "/api/preferences", _as(models.Preference), json=body, idempotent=False)


def update_preference(preference_id: int, **fields: Any) -> Op[models.Preference]:
    """``PATCH`` a row with API field names, e.g. ``enabled=False``."""
    return Op("PATCH", f"/api/preferences/{_seg(preference_id)}", _as(models.Preference), json=fields)


def delete_preference(preference_id: int) -> Op[None]:
    return Op("DELETE", f"/api/preferences/{_seg(preference_id)}", _none)


# Topics


def put_topic(key: str, name: str | None = None) -> Op[models.Topic]:
    """Create (201) or rename (200) a topic."""
    return Op("PUT", f"/api/topics/{_seg(key)}", _as(models.Topic), json=_compact({"name": name}))


def get_topic(key: str) -> Op[models.Topic]:
    return Op("GET", f"/api/topics/{_seg(key)}", _as(models.Topic))


def delete_topic(key: str) -> Op[None]:
    return Op("DELETE", f"/api/topics/{_seg(key)}", _none)


def topic_members(
    key: str, *, after: int | None = None, limit: int | None = None
) -> Op[models.TopicMembersPage]:
    """One page of a topic's members; pass the page's ``next`` as ``after`` for the next."""
    params = _query({"after": after, "limit": limit})
    return Op("GET", f"/api/topics/{_seg(key)}/subscribers", _as(models.TopicMembersPage), params=params)


def add_topic_members(key: str, user_ids: Sequence[str]) -> Op[dict[str, int]]:
    """Add up to 1,000 subscribers: ``{"added", "subscriberCount"}``."""
    path = f"/api/topics/{_seg(key)}/subscribers"
    return Op("POST", path, _as(dict[str, int]), json={"userIds": list(user_ids)})


def remove_topic_members(key: str, user_ids: Sequence[str]) -> Op[dict[str, int]]:
    """Remove up to 1,000 subscribers: ``{"removed", "subscriberCount"}``."""
    path = f"/api/topics/{_seg(key)}/subscribers"
    return Op("DELETE", path, _as(dict[str, int]), json={"userIds": list(user_ids)})


# Deliveries


class DeliveryFilters(TypedDict, total=False):
    """Filters of the deliveries listing and its stats."""

    user_id: str
    channel: str
    status: models.DeliveryStatus
    event_type: str
    since: datetime | str  # created at or after
    until: datetime | str  # created before


def _delivery_query(filters: DeliveryFilters, **more: Any) -> dict[str, str]:
    names = {"user_id": "userId", "event_type": "eventType"}
    return _query({**{names.get(key, key): value for key, value in filters.items()}, **more})


def deliveries(
    *, limit: int | None = None, cursor: str | None = None, **filters: Unpack[DeliveryFilters]
) -> Op[models.DeliveryPage]:
    """One page of deliveries, newest first; ``iter_deliveries`` walks every page."""
    params = _delivery_query(filters, limit=limit, cursor=cursor)
    return Op("GET", "/api/deliveries", _as(models.DeliveryPage), params=params)


def events(
    *, limit: int | None = None, cursor: str | None = None, **filters: Unpack[DeliveryFilters]
) -> Op[models.EventPage]:
    """One page of the activity feed, newest first, each event with its delivery summary;
    ``iter_events`` walks every page. ``status``/``channel``: events having such a delivery."""
    params = _delivery_query(filters, limit=limit, cursor=cursor)
    return Op("GET", "/api/events", _as(models.EventPage), params=params)


def get_delivery(delivery_id: int) -> Op[models.Delivery]:
    """One delivery with its attempt log."""
    return Op("GET", f"/api/deliveries/{_seg(delivery_id)}", _as(models.Delivery))


def delivery_stats(
    *, interval: Literal["hour", "day"] | None = None, **filters: Unpack[DeliveryFilters]
) -> Op[models.DeliveryStats]:
    """Totals by channel and status; ``interval="hour"|"day"`` adds time buckets."""
    params = _delivery_query(filters, interval=interval)
    return Op("GET", "/api/deliveries/stats", _as(models.DeliveryStats), params=params)


# Workflows


def workflows() -> Op[list[models.Workflow]]:
    """Every published workflow."""
    return Op("GET", "/api/workflows", lambda body: cast(list[models.Workflow], body["workflows"]))


def get_workflow(event_type: str) -> Op[models.Workflow]:
    return Op("GET", f"/api/workflows/{_seg(event_type)}", _as(models.Workflow))


def put_workflow(
    event_type: str, steps: Sequence[Mapping[str, Any]], *, name: str | None = None
) -> Op[models.Workflow]:
    """Publish a new version of the workflow of ``event_type`` (steps as in API.md)."""
    body = _compact({"name": name, "steps": [dict(step) for step in steps]})
    return Op("PUT", f"/api/workflows/{_seg(event_type)}", _as(models.Workflow), json=body)


def delete_workflow(event_type: str) -> Op[None]:
    return Op("DELETE", f"/api/workflows/{_seg(event_type)}", _none)


def cancel(cancellation_key: str, *, user_id: str | None = None) -> Op[int]:
    """Cancel the waiting runs of events sent with ``cancellation_key``: how many were cancelled."""
    body = _compact({"cancellationKey": cancellation_key, "userId": user_id})
    return Op("POST", "/api/workflows/cancel", lambda answer: int(answer["cancelled"]), json=body)


def dry_run(event_type: str, event: Mapping[str, Any], user_id: str) -> Op[models.DryRun]:
    """What the workflow would do for this event body and subscriber; nothing is sent or stored."""
    body = {"event": dict(event), "userId": user_id}
    return Op("POST", f"/api/workflows/{_seg(event_type)}/dry-run", _as(models.DryRun), json=body)


# Inbox (an API key names the subscriber with user_id; a subscriber token reads its own)


def inbox(
    *,
    user_id: str | None = None,
    status: models.InboxStatus | None = None,
    tags: Sequence[str] | None = None,
    event_types: Sequence[str] | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Op[models.InboxPage]:
    """One page of the inbox, newest first, with the counts; ``iter_inbox`` walks every page."""
    params = _query(
        {
            "userId": user_id,
            "status": status,
            "tags": ",".join(tags) if tags else None,
            "eventType": ",".join(event_types) if event_types else None,
            "limit": limit,
            "cursor": cursor,
        }
    )
    return Op("GET", "/api/inbox", _as(models.InboxPage), params=params)


def _message_action(action: str, message_id: int, user_id: str | None) -> Op[models.InboxActionResult]:
    params = _query({"userId": user_id})
    path = f"/api/inbox/{_seg(message_id)}/{action}"
    return Op("POST", path, _as(models.InboxActionResult), params=params)


def mark_read(message_id: int, *, user_id: str | None = None) -> Op[models.InboxActionResult]:
    """Mark one message read (idempotent): the message and the new counts."""
    return _message_action("read", message_id, user_id)


def mark_seen(message_id: int, *, user_id: str | None = None) -> Op[models.InboxActionResult]:
    return _message_action("seen", message_id, user_id)


def archive(message_id: int, *, user_id: str | None = None) -> Op[models.InboxActionResult]:
    return _message_action("archive", message_id, user_id)


def unsnooze(message_id: int, *, user_id: str | None = None) -> Op[models.InboxActionResult]:
    """Back in the inbox now, with the read and seen state it had before the snooze."""
    return _message_action("unsnooze", message_id, user_id)


def snooze(
    message_id: int,
    *,
    until: datetime | str | None = None,
    duration: float | str | None = None,
    user_id: str | None = None,
) -> Op[models.InboxActionResult]:
    """Out of the inbox and its counts until ``until`` or for ``duration`` (seconds or
    ``"1h"``, 60 s to 90 days); then back unread and unseen."""
    body = _compact({"until": _iso(until), "duration": duration})
    path = f"/api/inbox/{_seg(message_id)}/snooze"
    return Op("POST", path, _as(models.InboxActionResult), params=_query({"userId": user_id}), json=body)


def complete_action(message_id: int, key: str, *, user_id: str | None = None) -> Op[models.InboxActionResult]:
    """Complete the message's action button ``key`` (its ``completedAt`` is set, the message
    read); idempotent."""
    return _message_action(f"actions/{_seg(key)}", message_id, user_id)


def mark_all_read(*, user_id: str | None = None) -> Op[models.InboxUpdateResult]:
    return Op(
        "POST", "/api/inbox/read-all", _as(models.InboxUpdateResult), params=_query({"userId": user_id})
    )


def inbox_counts(
    *, user_id: str | None = None, tabs: Mapping[str, str] | None = None
) -> Op[models.InboxCounts]:
    """The counts and, per tab, its own: ``tabs={"mentions": "tag=mention", "all": "all"}``."""
    tab_text = ",".join(f"{name}:{spec}" for name, spec in tabs.items()) if tabs else None
    params = _query({"userId": user_id, "tabs": tab_text})
    return Op("GET", "/api/inbox/counts", _as(models.InboxCounts), params=params)


def inbox_bulk(
    action: models.BulkAction,
    *,
    ids: Sequence[int] | None = None,
    filter: Mapping[str, Any] | None = None,
    user_id: str | None = None,
) -> Op[models.InboxUpdateResult]:
    """One action over up to 1,000 ``ids`` or over a ``filter`` (``status``, ``eventType``,
    ``tags``, ``before``)."""
    body = _compact({"action": action, "ids": list(ids) if ids is not None else None, "filter": filter})
    params = _query({"userId": user_id})
    return Op("POST", "/api/inbox/bulk", _as(models.InboxUpdateResult), params=params, json=body)


# Status webhooks


def create_webhook_endpoint(
    url: str,
    *,
    events: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> Op[models.CreatedWebhookEndpoint]:
    """A new endpoint for status events (``events``: types to receive; none: every type). The
    answer holds its ``secret``, shown this once: keep it to verify what arrives."""
    body = _compact(
        {
            "url": url,
            "events": list(events) if events is not None else None,
            "description": description,
            "enabled": enabled,
        }
    )
    return Op(
        "POST", "/api/webhook-endpoints", _as(models.CreatedWebhookEndpoint), json=body, idempotent=False
    )


def webhook_endpoints() -> Op[list[models.WebhookEndpoint]]:
    return Op(
        "GET", "/api/webhook-endpoints", lambda body: cast(list[models.WebhookEndpoint], body["endpoints"])
    )


def get_webhook_endpoint(endpoint_id: int) -> Op[models.WebhookEndpoint]:
    return Op("GET", f"/api/webhook-endpoints/{_seg(endpoint_id)}", _as(models.WebhookEndpoint))


def update_webhook_endpoint(endpoint_id: int, **fields: Any) -> Op[models.WebhookEndpoint]:
    """``PATCH`` with API field names, e.g. ``enabled=True`` (which clears ``disabledReason``)."""
    path = f"/api/webhook-endpoints/{_seg(endpoint_id)}"
    return Op("PATCH", path, _as(models.WebhookEndpoint), json=fields)


def delete_webhook_endpoint(endpoint_id: int) -> Op[None]:
    return Op("DELETE", f"/api/webhook-endpoints/{_seg(endpoint_id)}", _none)


def rotate_webhook_secret(endpoint_id: int) -> Op[models.RotatedSecret]:
    """A new secret; the old one keeps signing too (both signatures sent) for 24 hours."""
    path = f"/api/webhook-endpoints/{_seg(endpoint_id)}/rotate-secret"
    return Op("POST", path, _as(models.RotatedSecret), idempotent=False)


def webhook_messages(
    endpoint_id: int,
    *,
    status: models.WebhookMessageStatus | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Op[models.WebhookMessagePage]:
    """One page of the endpoint's message log, newest first, each with its attempts;
    ``iter_webhook_messages`` walks every page."""
    params = _query({"status": status, "limit": limit, "cursor": cursor})
    path = f"/api/webhook-endpoints/{_seg(endpoint_id)}/messages"
    return Op("GET", path, _as(models.WebhookMessagePage), params=params)


def replay_webhook_message(endpoint_id: int, message_id: int) -> Op[models.WebhookMessage]:
    """Send one message again now, with its own ``webhook-id`` and a fresh retry budget."""
    path = f"/api/webhook-endpoints/{_seg(endpoint_id)}/messages/{_seg(message_id)}/replay"
    return Op("POST", path, _as(models.WebhookMessage))


def replay_failed_webhook_messages(endpoint_id: int, since: datetime | str) -> Op[int]:
    """Send again every failed message of the endpoint created since ``since``: how many."""
    path = f"/api/webhook-endpoints/{_seg(endpoint_id)}/messages/replay"
    return Op("POST", path, lambda body: int(body["replayed"]), json={"since": _iso(since)})
