"""Push through Firebase Cloud Messaging (HTTP v1) with firebase-admin.

A delivery goes to every active device of its subscriber, one request per device. Tokens
FCM reports as unregistered or invalid are listed in the result's ``details["dead_tokens"]``;
the push channel (``pipeline/channels/push.py``) deactivates them. A delivery counts as sent
when at least one device took it; it is not retried for the devices that failed, so no device gets it twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

import firebase_admin
from django.conf import settings
from firebase_admin import credentials, exceptions, messaging

from pipeline.providers.base import OnAccepted, OutboundMessage, Provider, ProviderResult, ignore_acceptance

# Devices register the FCM registration token their client SDK hands out; firebase-admin 7
# flags ``Message.token`` in favour of installation ids, which FCM v1 does not require.
warnings.filterwarnings("ignore", message="Message.token is deprecated", category=DeprecationWarning)

# FCM v1 takes one message per request: a batch's deliveries go out this many at a time, on
# threads of their own so that slow API calls never hold up the stages' database work.
_senders = ThreadPoolExecutor(max_workers=settings.FCM_CONCURRENCY, thread_name_prefix="fcm")
_apps: dict[str, firebase_admin.App] = {}
_apps_lock = threading.Lock()


def fcm_app() -> firebase_admin.App:
    """The firebase app for the current settings, created once per distinct configuration.

    ``FCM_CREDENTIALS`` is a path to a service-account JSON file or the JSON itself.
    ``FCM_API_BASE`` only changes the address messages are posted to.
    """
    raw, base = settings.FCM_CREDENTIALS, settings.FCM_API_BASE.rstrip("/")
    key = hashlib.sha256(f"{raw}|{settings.FCM_PROJECT_ID}|{base}".encode()).hexdigest()[:16]
    with _apps_lock:
        if key in _apps:
            return _apps[key]
        source: Any = json.loads(raw) if raw.lstrip().startswith("{") else raw
        options: dict[str, Any] = {"httpTimeout": settings.FCM_TIMEOUT}
        if settings.FCM_PROJECT_ID:
            options["projectId"] = settings.FCM_PROJECT_ID
        app = firebase_admin.initialize_app(credentials.Certificate(source), options, name=f"relay-{key}")
        if base:
            service = messaging._get_messaging_service(app)
            service._fcm_url = f"{base}/v1/projects/{app.project_id}/messages:send"
        _apps[key] = app
        return app


def is_dead_token(error: Exception | None) -> bool:
    """FCM's answers meaning "this token will never work again"."""
    if isinstance(error, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return True
    return isinstance(error, exceptions.InvalidArgumentError) and "registration token" in str(error).lower()


def fcm_message(message: OutboundMessage, token: str) -> messaging.Message:
    content = message.content
    data = {
        "deliveryId": str(message.delivery_id),
        "eventId": message.event_id,
        "eventType": message.event_type,
    }
    if content.get("actionUrl"):
        data["actionUrl"] = str(content["actionUrl"])
    return messaging.Message(
        token=token,
        notification=messaging.Notification(title=content.get("title", ""), body=content.get("body", "")),
        data=data,
    )


@dataclass
class Fanout:
    """What the devices of one delivery answered."""

    message_ids: list[str] = field(default_factory=list)
    dead_tokens: list[str] = field(default_factory=list)
    transient: list[str] = field(default_factory=list)
    permanent: list[str] = field(default_factory=list)


class FcmPushProvider(Provider):
    name: ClassVar[str] = "fcm"
    channel: ClassVar[str] = "push"

    async def send(self, message: OutboundMessage) -> ProviderResult:
        return (await self.send_batch([message]))[0]

    async def send_batch(
        self, messages: Sequence[OutboundMessage], on_accepted: OnAccepted = ignore_acceptance
    ) -> list[ProviderResult]:
        started = time.perf_counter()
        try:
            app = fcm_app()
        except (ValueError, OSError, exceptions.FirebaseError) as error:
            failure = f"fcm_unavailable: {type(error).__name__}: {error}"
            return [self._outcome(m, started, Fanout(), failure) for m in messages]
        loop = asyncio.get_running_loop()
        sent = await asyncio.gather(
            *(loop.run_in_executor(_senders, self._fan_out, app, m, started, on_accepted) for m in messages)
        )
        return list(sent)

    def _fan_out(
        self, app: firebase_admin.App, message: OutboundMessage, started: float, on_accepted: OnAccepted
    ) -> ProviderResult:
        """One delivery to each of its devices in turn, on one of the pool's threads; an
        accepted delivery is recorded before the thread takes the next."""
        fanout = Fanout()
        for token in message.devices:
            try:
                fanout.message_ids.append(messaging.send(fcm_message(message, token), app=app))
            except Exception as error:  # FCM's answers, and anything on the way there
                if is_dead_token(error):
                    fanout.dead_tokens.append(token)
                elif isinstance(error, exceptions.InvalidArgumentError):
                    fanout.permanent.append(str(error))
                else:
                    fanout.transient.append(f"{type(error).__name__}: {error}")
        result = self._outcome(message, started, fanout)
        if result.ok:
            on_accepted(message, result)
        return result

    def _outcome(
        self, message: OutboundMessage, started: float, fanout: Fanout, failure: str = ""
    ) -> ProviderResult:
        details: dict[str, Any] = {"dead_tokens": fanout.dead_tokens, "sent": len(fanout.message_ids)}
        if not message.devices:
            return self.suppressed(started, "no_address")
        if failure:
            return self.result("transient", started, error=failure)
        if fanout.message_ids:
            return self.result("ok", started, provider_message_id=fanout.message_ids[0], details=details)
        if fanout.transient:
            return self.result("transient", started, error=fanout.transient[0], details=details)
        error = fanout.permanent[0] if fanout.permanent else "unregistered: every device token was rejected"
        return self.result("permanent", started, error=error, details=details)
