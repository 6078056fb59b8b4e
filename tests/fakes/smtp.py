"""A real SMTP server (aiosmtpd) with optional STARTTLS and AUTH, recipient rejection,
temporary failures, a record of which connection carried each message, of the connections
opened and politely closed (QUIT), and a way to drop every open connection."""

from __future__ import annotations

import asyncio
import ssl
import threading
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from core.embedded_nats import free_port
from tests.fakes.tls import LocalCert


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.server.reject:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        with self.server.lock:
            if self.server.fail_next > 0:
                self.server.fail_next -= 1
                return "451 4.3.0 Try again later"
            if self.server.crash_at is not None and len(self.server.messages) >= self.server.crash_at:
                self.server.crash_at = None
                self.server.close_connections()  # this message is not kept, nor answered
                return "421 4.3.2 Shutting down"
            content = envelope.original_content or envelope.content
            assert isinstance(content, bytes)
            self.server.messages.append(message_from_bytes(content))
            self.server.connections.append(session.peer)
            self.server.logins.append(session.auth_data.login.decode() if session.auth_data else "")
            self.server.tls.append(session.ssl is not None)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Session, envelope: Envelope) -> str:
        with self.server.lock:
            self.server.quits += 1
        return "221 Bye"


class _TrackingController(Controller):
    """Keeps each connection's protocol, so the server can drop them all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: list[SMTP] = []

    def factory(self) -> SMTP:
        session = super().factory()
        self.sessions.append(session)
        return session


class SmtpServer:
    """``SmtpServer(cert=..., credentials=("user", "pw"))`` requires STARTTLS and AUTH."""

    def __init__(self, cert: LocalCert | None = None, credentials: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.messages: list[Message] = []
        self.connections: list[Any] = []
        self.logins: list[str] = []
        self.tls: list[bool] = []
        self.reject: set[str] = set()
        self.fail_next = 0
        self.crash_at: int | None = None  # drop every connection at the DATA after this many kept
        self.quits = 0
        self.credentials = credentials
        options: dict[str, Any] = {}
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert.cert_file, cert.key_file)
            options.update(tls_context=context, require_starttls=True)
        if credentials is not None:
            options.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=True)
        self.controller = _TrackingController(_Handler(self), hostname="127.0.0.1", port=self.port, **options)

    def _authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.credentials == (
            auth_data.login.decode(),
            auth_data.password.decode(),
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self) -> None:
        self.controller.start()
        self.controller.sessions.clear()  # the connection start() makes to check it listens

    def stop(self) -> None:
        self.controller.stop()

    @property
    def opened(self) -> int:
        """Connections accepted so far."""
        return len(self.controller.sessions)

    def close_connections(self) -> None:
        """On the server's loop: close every open connection."""
        for session in self.controller.sessions:
            if session.transport is not None:
                session.transport.close()

    def drop_connections(self) -> None:
        """Close every open connection from the server's side, as an idle timeout or a restart
        does, and return once they are closed."""

        self.controller.loop.call_soon_threadsafe(self.close_connections)
        # A no-op queued behind ``drop`` on the server's loop: once it ran, ``drop`` has too.
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.controller.loop).result(timeout=5)
