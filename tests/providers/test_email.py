"""Email through Django's SMTP backend and django-templated-email, against real SMTP servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from config.email_url import parse_email_url
from core.embedded_nats import free_port
from deliveries.models import DeadLetter
from pipeline.providers.base import OutboundMessage
from pipeline.providers.email import SmtpEmailProvider
from tests.conftest import wait_until
from tests.factories import SubscriberFactory
from tests.fakes.smtp import SmtpServer
from tests.fakes.tls import self_signed_localhost
from tests.providers.conftest import SendEvent, attempts_of, delivery_of

pytestmark = pytest.mark.django_db(transaction=True)


def outbound(n: int, to: str) -> OutboundMessage:
    return OutboundMessage(
        delivery_id=n,
        channel="email",
        event_id=f"evt-{n}",
        event_type="account",
        subscriber_id=n,
        user_id=f"user-{n}",
        to=to,
        content={"subject": f"Subject {n}", "text": f"Hello {n}", "html": f"<p>Hello <b>{n}</b></p>"},
    )


async def test_email_is_multipart_with_one_click_unsubscribe_header(
    pipeline: None, smtp_server: SmtpServer, send_event: SendEvent
) -> None:
    await sync_to_async(SubscriberFactory)(user_id="mail-1", email="mail-1@example.com")
    event_id = await send_event("mail-1", ["email"], data={"title": "Verify", "body": "Tap the link"})

    delivery = await delivery_of(event_id, "email")

    assert delivery.status == "sent" and delivery.provider == "smtp"
    (message,) = smtp_server.messages
    assert message["Subject"] == "Verify" and message["To"] == "mail-1@example.com"
    assert message["Message-ID"] == delivery.provider_message_id
    assert message.get_content_type() == "multipart/alternative"
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode() for part in message.get_payload()
    }
    assert "Tap the link" in parts["text/plain"] and "Tap the link" in parts["text/html"]
    unsubscribe = "".join(message["List-Unsubscribe"].split())  # unfold
    assert unsubscribe.startswith("<http://localhost:8000/api/unsubscribe/") and unsubscribe.endswith(">")
    assert unsubscribe.strip("<>") in parts["text/plain"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def batch(first: int, n: int) -> list[OutboundMessage]:
    return [outbound(i, f"u{i}@example.com") for i in range(first, first + n)]


def recipients(server: SmtpServer) -> list[str]:
    return sorted(str(m["To"]) for m in server.messages)


async def test_batch_goes_over_several_connections_kept_open_for_the_next_batch(
    smtp_server: SmtpServer, settings: Any
) -> None:
    settings.RELAY_EMAIL_CONNECTIONS = 3
    provider = SmtpEmailProvider()

    first = await provider.send_batch(batch(0, 9))
    second = await provider.send_batch(batch(9, 9))

    assert [r.kind for r in first + second] == ["ok"] * 18
    assert recipients(smtp_server) == sorted(f"u{i}@example.com" for i in range(18))
    assert len(set(smtp_server.connections)) == 3
    assert smtp_server.opened == 3 and smtp_server.quits == 0


async def test_each_acceptance_is_reported_once_with_its_message(smtp_server: SmtpServer) -> None:
    accepted: list[tuple[int, str]] = []
    messages = batch(0, 10)

    results = await SmtpEmailProvider().send_batch(
        messages, lambda message, result: accepted.append((message.delivery_id, result.provider_message_id))
    )

    assert sorted(accepted) == [
        (m.delivery_id, r.provider_message_id) for m, r in zip(messages, results, strict=True)
    ]
    assert {str(m["Message-ID"]) for m in smtp_server.messages} == {r.provider_message_id for r in results}


async def test_connections_the_server_dropped_between_batches_are_replaced(
    smtp_server: SmtpServer, settings: Any
) -> None:
    settings.RELAY_EMAIL_CONNECTIONS = 2
    provider = SmtpEmailProvider()
    await provider.send_batch(batch(0, 4))

    smtp_server.drop_connections()
    results = await provider.send_batch(batch(4, 4))

    assert [r.kind for r in results] == ["ok"] * 4
    # Nothing lost, nothing twice: the dropped connections carried nothing of the second batch.
    assert recipients(smtp_server) == sorted(f"u{i}@example.com" for i in range(8))
    assert smtp_server.opened == 4


async def test_server_dying_mid_batch_fails_only_what_it_did_not_take(
    smtp_server: SmtpServer, settings: Any
) -> None:
    """Every connection is dropped at the 9th email of 40 (4 connections): the email each
    connection had in flight or sent next fails transiently, the rest go on new connections,
    and everything reported accepted is at the server, once. The server may also have kept an
    email whose 250 it never sent (SMTP's one ambiguity): that one is among the failed."""
    settings.RELAY_EMAIL_CONNECTIONS = 4
    smtp_server.crash_at = 8
    accepted: list[str] = []
    messages = batch(0, 40)

    results = await SmtpEmailProvider().send_batch(messages, lambda m, r: accepted.append(m.to))

    ok = {m.to for m, r in zip(messages, results, strict=True) if r.ok}
    failed = {m.to: r for m, r in zip(messages, results, strict=True) if not r.ok}
    assert 1 <= len(failed) <= 4 and {r.kind for r in failed.values()} == {"transient"}
    assert sorted(accepted) == sorted(ok)
    kept = recipients(smtp_server)
    assert len(kept) == len(set(kept)) and ok <= set(kept) <= ok | set(failed)


async def test_idle_connections_are_closed(smtp_server: SmtpServer, settings: Any) -> None:
    settings.RELAY_EMAIL_CONNECTIONS, settings.RELAY_EMAIL_IDLE_SECONDS = 2, 0.1
    provider = SmtpEmailProvider()
    await provider.send_batch(batch(0, 4))

    await wait_until(lambda: smtp_server.quits == 2)
    results = await provider.send_batch(batch(4, 2))

    assert [r.kind for r in results] == ["ok", "ok"] and smtp_server.opened == 4


async def test_refused_recipient_fails_alone_and_the_session_goes_on(
    smtp_server: SmtpServer, settings: Any
) -> None:
    settings.RELAY_EMAIL_CONNECTIONS = 1
    smtp_server.reject.add("u1@example.com")

    results = await SmtpEmailProvider().send_batch(batch(0, 3))

    assert [r.kind for r in results] == ["ok", "permanent", "ok"]
    assert len(smtp_server.messages) == 2 and smtp_server.opened == 1


async def test_server_down_fails_the_batch_transiently_at_once(settings: Any) -> None:
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", free_port(), False

    results = await SmtpEmailProvider().send_batch(batch(0, 10))

    assert {r.kind for r in results} == {"transient"}
    assert all(r.error.startswith("smtp_unavailable: ") for r in results)


async def test_email_through_starttls_with_auth(
    pipeline: None, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, send_event: SendEvent
) -> None:
    cert = self_signed_localhost(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert_file))  # trust the local CA only
    server = SmtpServer(cert=cert, credentials=("relay", "s3cret"))
    server.start()
    try:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL = True, False
        settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "relay", "s3cret"
        settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "email": ["smtp"]}
        await sync_to_async(SubscriberFactory)(user_id="mail-tls", email="tls@example.com")

        delivery = await delivery_of(await send_event("mail-tls", ["email"]), "email")
    finally:
        server.stop()

    assert delivery.status == "sent"
    assert server.logins == ["relay"] and server.tls == [True]


async def test_wrong_smtp_password_is_not_sent(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = self_signed_localhost(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert_file))
    server = SmtpServer(cert=cert, credentials=("relay", "s3cret"))
    server.start()
    try:
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", server.port, True
        settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "relay", "wrong"
        (result,) = await SmtpEmailProvider().send_batch([outbound(1, "u1@example.com")])
    finally:
        server.stop()

    assert result.kind == "transient" and "535" in result.error
    assert server.messages == []


async def test_temporary_smtp_failure_is_retried_then_sent(
    pipeline: None, smtp_server: SmtpServer, send_event: SendEvent
) -> None:
    smtp_server.fail_next = 1
    await sync_to_async(SubscriberFactory)(user_id="mail-retry", email="retry@example.com")

    delivery = await delivery_of(await send_event("mail-retry", ["email"]), "email")

    assert delivery.status == "sent" and delivery.attempts == 2
    assert await attempts_of(delivery) == [("smtp", "transient"), ("smtp", "ok")]
    assert len(smtp_server.messages) == 1


async def test_rejected_recipient_fails_permanently_without_retry(
    pipeline: None, smtp_server: SmtpServer, send_event: SendEvent
) -> None:
    smtp_server.reject.add("gone@example.com")
    await sync_to_async(SubscriberFactory)(user_id="mail-gone", email="gone@example.com")

    delivery = await delivery_of(await send_event("mail-gone", ["email"]), "email")

    assert (
        delivery.status == "failed"
        and delivery.attempts == 1
        and delivery.reason == "provider_rejected"
        and "550" in delivery.last_error
    )
    assert await sync_to_async(DeadLetter.objects.filter(delivery=delivery).exists)()


async def test_failover_to_the_second_provider_when_smtp_is_down(
    pipeline: None, settings: Any, send_event: SendEvent, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", free_port(), False
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "email": ["smtp", "console"]}
    await sync_to_async(SubscriberFactory)(user_id="mail-failover", email="failover@example.com")

    delivery = await delivery_of(await send_event("mail-failover", ["email"]), "email")

    assert delivery.status == "sent" and delivery.provider == "console" and delivery.attempts == 1
    assert await attempts_of(delivery) == [("smtp", "transient"), ("console", "ok")]
    assert "To: failover@example.com" in capsys.readouterr().out


def test_email_url_sets_host_port_tls_and_credentials() -> None:
    assert parse_email_url("submission://me%40x.org:p%2Fw@smtp.example.com") == {
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "me@x.org",
        "EMAIL_HOST_PASSWORD": "p/w",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }
    assert parse_email_url("smtps://mail.example.com")["EMAIL_USE_SSL"] is True
    assert parse_email_url("smtp://localhost:2525?tls=1")["EMAIL_PORT"] == 2525
