"""SMS through Twilio's Messages API with the official SDK, a status callback per message.

The SDK is synchronous (requests); sends run in worker threads, a batch concurrently. The
Twilio SID becomes the delivery's ``provider_message_id``; Twilio later reports the handset
outcome to ``POST /api/webhooks/twilio/status`` (see ``deliveries.webhooks``).
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

from django.conf import settings
from django.urls import reverse
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from pipeline.providers.base import OnAccepted, OutboundMessage, Provider, ProviderResult, ignore_acceptance

# Twilio takes one message per request: a batch goes out this many at a time, on threads of
# its own so that slow API calls never hold up the stages' database work.
_senders = ThreadPoolExecutor(max_workers=settings.TWILIO_CONCURRENCY, thread_name_prefix="twilio")
E164 = re.compile(r"^\+[1-9]\d{1,14}$")

# Twilio error codes no retry can fix (https://www.twilio.com/docs/api/errors), with the
# reason the delivery records.
PERMANENT_ERRORS: dict[int, str] = {
    21211: "invalid_address",  # invalid 'To' phone number
    21214: "invalid_address",  # 'To' number cannot be reached
    21217: "invalid_address",  # phone number does not appear to be valid
    21401: "invalid_address",  # invalid phone number
    21407: "unsupported_destination",  # this phone number type does not support SMS
    21408: "unsupported_destination",  # permission to send to this region not enabled
    21610: "unsubscribed",  # recipient replied STOP
    21612: "unsupported_destination",  # 'To' not reachable from the 'From' number
    21614: "invalid_address",  # 'To' is not a valid mobile number
    30004: "blocked",  # message blocked
    30005: "invalid_address",  # unknown destination handset
    30006: "unsupported_destination",  # landline or unreachable carrier
}


def is_e164(number: str) -> bool:
    return bool(E164.match(number))


def classify_twilio_error(error: TwilioRestException) -> tuple[str, str]:
    """(kind, reason). Throttling, server errors and auth trouble may pass on the next try
    (or on the next provider); a known-permanent code or any other 400 will not."""
    if error.code in PERMANENT_ERRORS:
        return "permanent", PERMANENT_ERRORS[error.code]
    if error.status == 400:
        return "permanent", f"twilio_{error.code}"
    return "transient", f"twilio_{error.code or error.status}"


def status_callback_url() -> str:
    return settings.RELAY_PUBLIC_URL + reverse("twilio-status")


def twilio_client() -> Client:
    return _client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE.rstrip("/"),
        settings.TWILIO_TIMEOUT,
    )


@functools.lru_cache(maxsize=4)
def _client(account_sid: str, auth_token: str, api_base: str, timeout: float) -> Client:
    """One client (and its pooled HTTPS session) per configuration, reused across batches.

    ``TWILIO_API_BASE`` only changes the address the SDK posts to.
    """
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
    if api_base:
        client.api.base_url = api_base
    return client


class TwilioSmsProvider(Provider):
    name: ClassVar[str] = "twilio"
    channel: ClassVar[str] = "sms"

    async def send(self, message: OutboundMessage) -> ProviderResult:
        return (await self.send_batch([message]))[0]

    async def send_batch(
        self, messages: Sequence[OutboundMessage], on_accepted: OnAccepted = ignore_acceptance
    ) -> list[ProviderResult]:
        client, callback = twilio_client(), status_callback_url()
        loop = asyncio.get_running_loop()
        return list(
            await asyncio.gather(
                *(
                    loop.run_in_executor(_senders, self._send_one, client, m, callback, on_accepted)
                    for m in messages
                )
            )
        )

    def _send_one(
        self, client: Client, message: OutboundMessage, callback: str, on_accepted: OnAccepted
    ) -> ProviderResult:
        """One Messages POST; its acceptance is recorded on this thread before it takes the next."""
        started = time.perf_counter()
        if not is_e164(message.to):
            return self.suppressed(started, "invalid_address")
        sender = (
            {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
            if settings.TWILIO_MESSAGING_SERVICE_SID
            else {"from_": settings.TWILIO_FROM_NUMBER}
        )
        try:
            sent = client.messages.create(
                to=message.to, body=sms_text(message), status_callback=callback, **sender
            )
        except TwilioRestException as error:
            kind, reason = classify_twilio_error(error)
            return self.result(kind, started, error=f"{reason}: {error.msg}")  # type: ignore[arg-type]
        except (TwilioException, OSError) as error:
            return self.result("transient", started, error=f"{type(error).__name__}: {error}")
        accepted = self.result("ok", started, provider_message_id=sent.sid or "")
        on_accepted(message, accepted)
        return accepted


def sms_text(message: OutboundMessage) -> str:
    """The body, or the title when there is none, and the action link if any."""
    content = message.content
    text = str(content.get("body") or content.get("title") or "")
    if content.get("actionUrl"):
        text = f"{text}\n{content['actionUrl']}".strip()
    return text
