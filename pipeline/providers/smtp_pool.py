"""SMTP connections kept open between batches: a few per worker process, closed when idle.

Opening a connection costs the TCP handshake, the server's greeting and EHLO (with a relay,
STARTTLS and AUTH too): more round trips than a message takes. So the email provider keeps
its connections (Django ``EmailBackend`` instances, opened by Django on first use) from one
batch to the next, sends a batch over several of them at once, each on a thread of the
pool's own, and closes the ones no batch has used for ``idle_seconds`` (servers drop idle
sessions themselves after a while; a connection they dropped anyway is replaced by the
provider on its first use).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.core.mail.backends.base import BaseEmailBackend


def close_quietly(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except Exception:  # a dead connection cannot be closed politely
        pass


class ConnectionPool:
    """At most ``size`` connections, each used by one sending thread at a time."""

    def __init__(self, connect: Callable[[], BaseEmailBackend], size: int, idle_seconds: float) -> None:
        self.size = size
        self.idle_seconds = idle_seconds
        self.executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="smtp")
        self._connect = connect
        self._lock = threading.Lock()
        self._idle: list[tuple[BaseEmailBackend, float]] = []  # (connection, released at)
        self._reaper: threading.Timer | None = None

    def take(self) -> BaseEmailBackend:
        """The connection released last (the likeliest still open), else a new, unopened one."""
        with self._lock:
            if self._idle:
                return self._idle.pop()[0]
        return self._connect()

    def give_back(self, connection: BaseEmailBackend) -> None:
        if self.idle_seconds <= 0:
            close_quietly(connection)
            return
        with self._lock:
            self._idle.append((connection, time.monotonic()))
            if self._reaper is None:
                self._arm(self.idle_seconds)

    def close_idle(self) -> None:
        """Close the connections idle for ``idle_seconds``; come back for the others."""
        now = time.monotonic()
        with self._lock:
            expired = [c for c, released in self._idle if now - released >= self.idle_seconds]
            self._idle = [(c, released) for c, released in self._idle if now - released < self.idle_seconds]
            self._reaper = None
            if self._idle:
                self._arm(self._idle[0][1] + self.idle_seconds - now)
        for connection in expired:
            close_quietly(connection)

    def _arm(self, seconds: float) -> None:
        self._reaper = threading.Timer(max(seconds, 0.0), self.close_idle)
        self._reaper.daemon = True
        self._reaper.start()

    def shut(self) -> None:
        """Close every idle connection and let the threads go (the settings changed)."""
        with self._lock:
            idle, self._idle = self._idle, []
            if self._reaper is not None:
                self._reaper.cancel()
                self._reaper = None
        for connection, _ in idle:
            close_quietly(connection)
        self.executor.shutdown(wait=False)
