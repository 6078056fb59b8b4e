"""A token bucket per WebSocket: how many inbox actions one socket may send, and how fast.

Each ``mark_read``/``mark_seen``/``archive``/``snooze``/``unsnooze``/``mark_all_read`` that
reaches the database takes a token; tokens come back at ``RELAY_SOCKET_ACTION_RATE`` a second up to
``RELAY_SOCKET_ACTION_BURST``. A socket is one client's connection, so its budget lives in
the consumer: no shared state, nothing to clean up when it closes.
"""

from __future__ import annotations

import time


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self) -> float:
        """Take a token: 0.0 if there was one, else the seconds until one comes back."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate
