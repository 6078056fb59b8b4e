"""A real SMTP server (aiosmtpd) with optional STARTTLS and AUTH, recipient rejection,
temporary failures, and a record of which connection carried each message."""

from __future__ import annotations

import ssl
import threading
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

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
            content = envelope.original_content or envelope.content
            assert isinstance(content, bytes)
            self.server.messages.append(message_from_bytes(content))
            self.server.connections.append(session.peer)
            self.server.logins.append(session.auth_data.login.decode() if session.auth_data else "")
            self.server.tls.append(session.ssl is not None)
        return "250 OK"


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
        self.credentials = credentials
        options: dict[str, Any] = {}
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert.cert_file, cert.key_file)
            options.update(tls_context=context, require_starttls=True)
        if credentials is not None:
            options.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=True)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **options)

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

    def stop(self) -> None:
        self.controller.stop()
