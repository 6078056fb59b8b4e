"""Signals of the deliveries app, for layers above it that add to what it serves.

``event_detail`` is sent while ``GET /api/events/<eventId>`` is answered, with ``event`` (the
``Event``); each receiver returns a dict of top-level fields to add to the answer (the
workflows app adds ``runs``), so this app shows them without importing the layer above.

``status_changed`` is sent for every delivery status change (below).
"""

from __future__ import annotations

from django.dispatch import Signal

event_detail = Signal()

status_changed = Signal()
"""Sent by ``deliveries.lifecycle`` inside the transaction that moved deliveries, with
``transition`` and ``changes`` (``(delivery_id, status, reason)`` per delivery moved), so a
receiver's writes (the status webhooks' outbox) commit or roll back with the move itself."""
