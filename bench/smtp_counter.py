"""The email sink: a real SMTP server (aiosmtpd) in its own process that counts what arrives.

It runs apart from the load generator so that neither slows the other. It keeps, per
``X-Relay-Event-Id``, how many messages arrived, and the time of the last one.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from multiprocessing.connection import Connection
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session


@dataclass(frozen=True)
class EmailCounts:
    per_event: dict[str, int]
    total: int
    last_at: float


class _CountingHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.per_event: dict[str, int] = {}
        self.total = 0
        self.last_at = 0.0

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        headers = BytesHeaderParser().parsebytes(content if isinstance(content, bytes) else b"")
        event_id = str(headers.get("X-Relay-Event-Id", ""))
        with self.lock:
            self.per_event[event_id] = self.per_event.get(event_id, 0) + 1
            self.total += 1
            self.last_at = time.time()
        return "250 OK"


def _serve(port: int, conn: Connection) -> None:
    handler = _CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    conn.send("ready")
    try:
        while conn.recv() == "counts":
            with handler.lock:
                conn.send(EmailCounts(dict(handler.per_event), handler.total, handler.last_at))
    except EOFError:
        pass
    finally:
        controller.stop()


class SmtpCounter:
    def __init__(self, port: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=_serve, args=(port, child_conn), daemon=True)

    def start(self) -> None:
        self._process.start()
        if not self._conn.poll(20) or self._conn.recv() != "ready":
            raise RuntimeError("SMTP sink did not start")

    def counts(self) -> EmailCounts:
        self._conn.send("counts")
        counts: EmailCounts = self._conn.recv()
        return counts

    def stop(self) -> None:
        try:
            self._conn.send("stop")
        except OSError:
            pass
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
