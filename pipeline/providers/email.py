"""Email through Django's mail framework: the SMTP backend in production, console for demos."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import secrets
import smtplib
import threading
import time
from collections.abc import Sequence
from email.utils import parseaddr
from typing import ClassVar

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import SafeMIMEMultipart, SafeMIMEText
from templated_email import get_templated_mail

from pipeline.providers.base import OnAccepted, OutboundMessage, Provider, ProviderResult, ignore_acceptance
from pipeline.providers.smtp_pool import ConnectionPool, close_quietly
from preferences.unsubscribe_tokens import unsubscribe_url

# The settings Django's SMTP backend connects with: a change (tests) means a new pool.
CONNECTION_SETTINGS = (
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT",
    "EMAIL_SSL_KEYFILE",
    "EMAIL_SSL_CERTFILE",
)
# How a connection the server closed shows on the next command.
DROPPED = (smtplib.SMTPServerDisconnected, ConnectionError)


class RelayEmailMessage(EmailMultiAlternatives):
    """Django's plain + HTML email, with its MIME boundary chosen here: random (128 bits) as the
    standard library's, which instead compiles a regular expression per message to prove its
    shorter one absent from the body (a tenth of the email worker's CPU, docs/BENCHMARKS.md)."""

    def message(self) -> SafeMIMEText | SafeMIMEMultipart:
        built: SafeMIMEText | SafeMIMEMultipart = super().message()
        if built.is_multipart():
            built.set_boundary(f"=_relay_{secrets.token_hex(16)}")
        return built


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
    """A batch goes out over up to ``RELAY_EMAIL_CONNECTIONS`` connections at once (the k-th of
    them takes every k-th message), kept open for the next batch (``smtp_pool``)."""

    name: ClassVar[str] = "smtp"
    channel: ClassVar[str] = "email"
    backend: ClassVar[str] = "django.core.mail.backends.smtp.EmailBackend"

    def __init__(self) -> None:
        self._pool: ConnectionPool | None = None
        self._pool_key: tuple[object, ...] = ()
        self._pool_lock = threading.Lock()

    def connections(self) -> int:
        return max(1, int(settings.RELAY_EMAIL_CONNECTIONS))

    def idle_seconds(self) -> float:
        return float(settings.RELAY_EMAIL_IDLE_SECONDS)

    def pool(self) -> ConnectionPool:
        """The pool for the current settings; tests change them between runs, production never."""
        key = (
            *(getattr(settings, name) for name in CONNECTION_SETTINGS),
            self.connections(),
            self.idle_seconds(),
        )
        with self._pool_lock:
            if self._pool is None or key != self._pool_key:
                if self._pool is not None:
                    self._pool.shut()
                connect = functools.partial(get_connection, backend=self.backend, fail_silently=False)
                self._pool, self._pool_key = (
                    ConnectionPool(connect, self.connections(), self.idle_seconds()),
                    key,
                )
            return self._pool

    async def send(self, message: OutboundMessage) -> ProviderResult:
        return (await self.send_batch([message]))[0]

    async def send_batch(
        self, messages: Sequence[OutboundMessage], on_accepted: OnAccepted = ignore_acceptance
    ) -> list[ProviderResult]:
        pool = self.pool()
        lanes = min(pool.size, len(messages))
        loop = asyncio.get_running_loop()
        sent = await asyncio.gather(
            *(
                loop.run_in_executor(
                    pool.executor,
                    contextvars.copy_context().run,
                    self._send_lane,
                    pool,
                    messages[k::lanes],
                    on_accepted,
                )
                for k in range(lanes)
            )
        )
        # Message i went out on lane i % lanes, as that lane's (i // lanes)-th.
        return [sent[i % lanes][i // lanes] for i in range(len(messages))]

    def _send_lane(
        self, pool: ConnectionPool, messages: Sequence[OutboundMessage], on_accepted: OnAccepted
    ) -> list[ProviderResult]:
        """One connection, one message at a time, each ``250`` recorded before the next DATA.

        A refused recipient or a 4xx/5xx answer fails only that message and the session goes
        on; when the connection cannot be opened, the rest of the lane fails at once
        (transiently) instead of waiting out one connect timeout per message.
        """
        connection = pool.take()
        results: list[ProviderResult] = []
        tried = False  # a send was made on this lane: a connection dropped after it is a failure
        try:
            for index, message in enumerate(messages):
                started = time.perf_counter()
                try:
                    email = build_email(message)
                except Exception as error:  # a broken template fails the same way on every retry
                    results.append(self.result("permanent", started, error=f"render_failed: {error}"))
                    continue
                try:
                    results.append(self._send_one(connection, email, started, stale_possible=not tried))
                except Unavailable as error:
                    failure = f"smtp_unavailable: {error}"
                    results.extend(self.result("transient", started, error=failure) for _ in messages[index:])
                    return results
                tried = True
                if results[-1].ok:
                    on_accepted(message, results[-1])
        finally:
            pool.give_back(connection)
        return results

    def _send_one(
        self, connection: BaseEmailBackend, email: EmailMessage, started: float, stale_possible: bool
    ) -> ProviderResult:
        try:
            opened = connection.open()
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            raise Unavailable(f"{type(error).__name__}: {error}") from error
        try:
            connection.send_messages([email])
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            if not keeps_session(error):
                close_quietly(connection)
            if stale_possible and not opened and isinstance(error, DROPPED):
                # A connection kept from an earlier batch that the server dropped while it was
                # idle (its timeout, a restart): the message goes once more, on a new one.
                return self._send_one(connection, email, started, stale_possible=False)
            kind = classify_smtp_error(error)
            return self.result(kind, started, error=f"{type(error).__name__}: {error}")  # type: ignore[arg-type]
        return self.result("ok", started, provider_message_id=email.extra_headers["Message-ID"])


class Unavailable(Exception):
    """The connection could not be opened: the server is down or refuses us."""


def keeps_session(error: Exception) -> bool:
    """A refusal (other than 421, "closing") leaves the SMTP session usable for the next message."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code != 421


class ConsoleEmailProvider(SmtpEmailProvider):
    """Prints each email to stdout: for `make run` on a laptop with no mail server. One
    "connection", made per batch, so emails print whole, in order, to the stdout of the moment."""

    name: ClassVar[str] = "console"
    backend: ClassVar[str] = "django.core.mail.backends.console.EmailBackend"

    def connections(self) -> int:
        return 1

    def idle_seconds(self) -> float:
        return 0.0
