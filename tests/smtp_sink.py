"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

from __future__ import annotations

import asyncio
import random
import threading
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from core.embedded_nats import free_port


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message = message_from_bytes(content)
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        with self.sink.lock:
            self.sink.transactions += 1
            if self.sink.permanent:
                return "550 5.1.1 Mailbox unavailable"
            if self.sink.fail_next > 0 or random.random() < self.sink.fail_ratio:
                self.sink.fail_next = max(self.sink.fail_next - 1, 0)
                return "451 4.3.0 Try again later"
            self.sink.messages.append(message)
        return "250 OK"


class SmtpSink:
    def __init__(self, **controller_options: Any) -> None:
        self.port = free_port()
        self.messages: list[Message] = []
        self.lock = threading.Lock()
        # Faults to inject: the next N messages, a random share of them (transient 451), or
        # every message (permanent 550). ``transactions`` counts every DATA, refused or not.
        self.fail_next = 0
        self.fail_ratio = 0.0
        self.permanent = False
        self.delay = 0.0  # seconds before answering each DATA: a slow provider
        self.transactions = 0
        self.controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **controller_options
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def by_header(self, header: str) -> dict[str, list[Message]]:
        with self.lock:
            result: dict[str, list[Message]] = {}
            for message in self.messages:
                result.setdefault(str(message[header]), []).append(message)
            return result
