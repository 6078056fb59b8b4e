"""The JSON shapes of the API (API.md), as TypedDicts.

Answers are handed back as the decoded JSON, typed: the server may add fields at any time
(API.md: "add fields freely; never rename or remove one"), and a dict keeps them all, where
a dataclass would drop the new ones or fail on them. Fields the server may leave out are
``NotRequired``.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

Priority = Literal["low", "normal", "high", "urgent"]
DeliveryStatus = Literal[
    "pending", "deferred", "scheduled", "sent", "delivered", "failed", "bounced", "suppressed"
]
InboxStatus = Literal["inbox", "unread", "read", "archived", "snoozed", "all"]
BulkAction = Literal["read", "seen", "archive", "unarchive", "delete"]


class TriggerResult(TypedDict):
    eventId: str
    status: str
    duplicate: NotRequired[bool]


class BatchItem(TypedDict):
    index: int
    code: int
    status: str
    eventId: NotRequired[str | None]
    duplicate: NotRequired[bool]
    errors: NotRequired[dict[str, Any]]
    retryAfter: NotRequired[int]


class BatchResult(TypedDict):
    accepted: int
    rejected: int
    results: list[BatchItem]


class Transition(TypedDict):
    transition: str
    status: str
    reason: str
    attempt: int
    at: str


class Delivery(TypedDict):
    id: int
    eventId: str
    userId: str
    channel: str
    status: DeliveryStatus
    reason: str
    attempts: int
    provider: str
    providerMessageId: str
    notBefore: str | None
    createdAt: str
    updatedAt: str
    sentAt: str | None
    deliveredAt: str | None
    lastError: str
    decision: str
    decisionReason: str
    decisionRule: str
    decidedAt: str
    timeline: list[Transition]


class DeliveryPage(TypedDict):
    next: str | None
    previous: str | None
    results: list[Delivery]


class DeliveryStats(TypedDict):
    total: int
    byChannel: dict[str, int]
    byStatus: dict[str, int]
    buckets: NotRequired[list[dict[str, Any]]]


class EventNotification(TypedDict):
    id: int
    userId: str
    createdAt: str
    deliveries: list[Delivery]


class WorkflowRunStep(TypedDict):
    id: str
    type: str
    status: str
    waitingUntil: str | None
    reason: str


class WorkflowRun(TypedDict):
    workflow: str
    version: int
    status: str
    steps: list[WorkflowRunStep]


class EventDetail(TypedDict):
    eventId: str
    status: str
    notifications: list[EventNotification]
    eventType: NotRequired[str]
    userId: NotRequired[str | None]
    topic: NotRequired[str | None]
    channels: NotRequired[list[str]]
    priority: NotRequired[Priority]
    data: NotRequired[dict[str, Any]]
    metadata: NotRequired[dict[str, Any]]
    locale: NotRequired[str]
    scheduledAt: NotRequired[str | None]
    expiresAt: NotRequired[str | None]
    acceptedAt: NotRequired[str]
    runs: NotRequired[list[WorkflowRun]]


class DeliverySummary(TypedDict):
    total: int
    byStatus: dict[str, int]
    byChannel: dict[str, dict[str, int]]


class EventActivity(TypedDict):
    """An event of the activity feed (``GET /api/events``): no ``data``/``metadata``."""

    eventId: str
    eventType: str
    userId: str
    topic: str
    channels: list[str]
    priority: Priority
    createdAt: str
    deliverySummary: DeliverySummary
    scheduledAt: NotRequired[str | None]
    expiresAt: NotRequired[str | None]
    acceptedAt: NotRequired[str]


class EventPage(TypedDict):
    next: str | None
    previous: str | None
    results: list[EventActivity]


class Subscriber(TypedDict):
    userId: str
    email: NotRequired[str]
    phone: NotRequired[str]
    timezone: NotRequired[str]
    locale: NotRequired[str]
    data: NotRequired[dict[str, Any]]
    addresses: NotRequired[dict[str, str]]


class SubscriberToken(TypedDict):
    token: str
    userId: str
    expiresIn: int


class Preference(TypedDict):
    id: int
    userId: str
    channel: str
    eventType: str
    enabled: bool
    quietHoursStart: str | None
    quietHoursEnd: str | None


class Topic(TypedDict):
    key: str
    name: str
    subscriberCount: int
    createdAt: str


class TopicMembersPage(TypedDict):
    userIds: list[str]
    next: int | None


class Workflow(TypedDict):
    key: str
    name: str
    version: int
    steps: list[dict[str, Any]]
    createdAt: str
    updatedAt: str
    publishedAt: str


class PlannedStep(TypedDict):
    id: str
    type: str
    would: Literal["send", "skip", "wait", "continue"]
    reason: str
    channel: NotRequired[str]
    decision: NotRequired[str]
    content: NotRequired[dict[str, Any]]
    until: NotRequired[str]
    values: NotRequired[dict[str, Any]]


class DryRun(TypedDict):
    steps: list[PlannedStep]


class InboxAction(TypedDict):
    key: str
    label: str
    url: NotRequired[str]
    completedAt: str | None


class InboxMessage(TypedDict):
    id: int
    deliveryId: int
    eventType: str
    title: str
    body: str
    actionUrl: str
    data: dict[str, Any]
    createdAt: str
    seenAt: str | None
    readAt: str | None
    archivedAt: str | None
    snoozedUntil: NotRequired[str | None]
    tags: NotRequired[list[str]]
    priority: NotRequired[Priority]
    actions: NotRequired[list[InboxAction]]


class Counts(TypedDict):
    unreadCount: int
    unseenCount: int
    totalCount: int
    unreadByPriority: NotRequired[dict[str, int]]


class TabCounts(TypedDict):
    unreadCount: int
    unseenCount: int
    totalCount: int


class InboxCounts(Counts):
    tabs: NotRequired[dict[str, TabCounts]]


class InboxPage(Counts):
    messages: list[InboxMessage]
    nextCursor: str | None


class InboxActionResult(Counts):
    message: InboxMessage


class InboxUpdateResult(Counts):
    updated: int


class SocketEvent(TypedDict):
    """One frame from ``/ws/inbox/``: ``type`` is ``hello``, ``notification``, ``counts``,
    ``pong`` or ``error``; the other keys depend on it (README, WebSocket protocol)."""

    type: str
    userId: NotRequired[str]
    message: NotRequired[InboxMessage]
    messages: NotRequired[list[InboxMessage]]
    unreadCount: NotRequired[int]
    unseenCount: NotRequired[int]
    totalCount: NotRequired[int]
    change: NotRequired[dict[str, Any]]
    error: NotRequired[str]
    requestId: NotRequired[Any]
    retryAfter: NotRequired[float]
    resurfaced: NotRequired[bool]
    errors: NotRequired[dict[str, list[str]]]


# Status webhooks (/api/webhook-endpoints)

WebhookMessageStatus = Literal["pending", "delivered", "failed"]


class WebhookEndpoint(TypedDict):
    id: int
    url: str
    description: str
    events: list[str]  # empty: every type
    enabled: bool
    disabledReason: str
    createdAt: str
    updatedAt: str


class CreatedWebhookEndpoint(WebhookEndpoint):
    secret: str  # whsec_<base64>, shown only in this answer


class RotatedSecret(TypedDict):
    secret: str
    previousSecretExpiresAt: str


class WebhookAttempt(TypedDict):
    attempt: int
    at: str
    scheduledAt: str
    statusCode: int | None
    durationMs: int
    error: str
    response: str


class WebhookMessage(TypedDict):
    id: int
    webhookId: str
    type: str
    status: WebhookMessageStatus
    attempts: int
    nextAttemptAt: str | None
    createdAt: str
    payload: dict[str, Any]
    attemptLog: list[WebhookAttempt]


class WebhookMessagePage(TypedDict):
    next: str | None
    previous: str | None
    results: list[WebhookMessage]
