"""Signals of the workflows app, for the layers above it.

``runs_ended`` is sent inside the transaction that ended workflow runs (completed, failed,
cancelled, throttled, digested), with ``runs`` (the ``Run`` rows, their ``status`` and
``reason`` final), so a receiver's writes (the status webhooks' outbox) commit with the end.
"""

from __future__ import annotations

from django.dispatch import Signal

runs_ended = Signal()
