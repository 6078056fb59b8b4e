"""Email through Django's mail framework: the SMTP backend in production, console for demos."""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import time
from collections.abc import Sequence
from email.utils import parseaddr
from typing import ClassVar

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from templated_email import get_templated_mail

from pipeline.providers.base import OnAccepted, OutboundMessage, Provider, ProviderResult, ignore_acceptance
from preferences.unsubscribe_tokens import unsubscribe_url


def build_email(message: OutboundMessage) -> EmailMessage:
    """Render the delivery's content through django-templated-email: subject, plain and HTML.

    The template (``RELAY_EMAIL_TEMPLATE``) gets the content keys (``subject``, ``text``,
    ``html``, ``title``, ``body``, ``actionUrl``), the event ``data`` and ``unsubscribe_url``,
    so a template loader serving database templates can take over without code changes here.
    """
    unsubscribe = unsubscribe_url(message.subscriber_id, "email", message.event_type)
    context = {**message.content, "data": message.data, "unsubscribe_url": unsubscribe}
    return get_templated_mail(
        template_name=settings.RELAY_EMAIL_TEMPLATE,
        context=context,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={
            "Message-ID": message_id(message),
            "X-Relay-Delivery-Id": str(message.delivery_id),
            "X-Relay-Event-Id": message.event_id,
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def message_id(message: OutboundMessage) -> str:
    """The same for every send of a delivery, on any worker host: SMTP has no idempotency, so a
    worker killed after the server's 250 but before recording it sends again, and receivers
    collapse copies by Message-ID."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "relay.invalid"
    event = hashlib.sha256(message.event_id.encode()).hexdigest()[:12]
    return f"<relay.{message.delivery_id}.{event}@{domain}>"


def classify_smtp_error(error: Exception) -> str:
    """5xx answers and refused recipients are permanent; everything else may pass on retry."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return "permanent" if codes and all(code >= 500 for code in codes) else "transient"
    if isinstance(error, smtplib.SMTPResponseException):
        return "permanent" if error.smtp_code >= 500 else "transient"
    return "transient"


class SmtpEmailProvider(Provider):
    name: ClassVar[str] = "smtp"
    channel: ClassVar[str] = "email"
    backend: ClassVar[str] = "django.core.mail.backends.smtp.EmailBackend"

    async def send(self, message: OutboundMessage) -> ProviderResult:
        return (await self.send_batch([message]))[0]

    async def send_batch(
        self, messages: Sequence[OutboundMessage], on_accepted: OnAccepted = ignore_acceptance
    ) -> list[ProviderResult]:
        return await asyncio.to_thread(self._send_all, messages, on_accepted)

    def _send_all(self, messages: Sequence[OutboundMessage], on_accepted: OnAccepted) -> list[ProviderResult]:
        """One SMTP connection for the whole batch, each ``250`` recorded before the next DATA.

        A refused recipient or a 4xx/5xx answer fails only that message and the session goes
        on; when the connection itself cannot be opened, the rest of the batch fails at once
        (transiently) instead of waiting out one connect timeout per message.
        """
        connection = get_connection(backend=self.backend, fail_silently=False)
        results: list[ProviderResult] = []
        try:
            for index, message in enumerate(messages):
                started = time.perf_counter()
                try:
                    email = build_email(message)
                except Exception as error:  # a broken template fails the same way on every retry
                    results.append(self.result("permanent", started, error=f"render_failed: {error}"))
                    continue
                try:
                    connection.open()
                except (TimeoutError, smtplib.SMTPException, OSError) as error:
                    failure = f"smtp_unavailable: {type(error).__name__}: {error}"
                    results.extend(self.result("transient", started, error=failure) for _ in messages[index:])
                    return results
                try:
                    connection.send_messages([email])
                except (TimeoutError, smtplib.SMTPException, OSError) as error:
                    kind = classify_smtp_error(error)
                    results.append(self.result(kind, started, error=f"{type(error).__name__}: {error}"))  # type: ignore[arg-type]
                    if not isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
                        self._close_quietly(connection)
                    continue
                accepted = self.result("ok", started, provider_message_id=email.extra_headers["Message-ID"])
                on_accepted(message, accepted)
                results.append(accepted)
        finally:
            self._close_quietly(connection)
        return results

    @staticmethod
    def _close_quietly(connection: object) -> None:
        try:
            connection.close()  # type: ignore[attr-defined]
        except Exception:  # a dead connection cannot be closed politely
            pass


class ConsoleEmailProvider(SmtpEmailProvider):
    """Prints each email to stdout: for `make run` on a laptop with no mail server."""

    name: ClassVar[str] = "console"
    backend: ClassVar[str] = "django.core.mail.backends.console.EmailBackend"
