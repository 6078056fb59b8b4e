"""Signals of the deliveries app, for layers above it that add to what it serves.

``event_detail`` is sent while ``GET /api/events/<eventId>`` is answered, with ``event`` (the
``Event``); each receiver returns a dict of top-level fields to add to the answer (the
workflows app adds ``runs``), so this app shows them without importing the layer above.
"""

from __future__ import annotations

from django.dispatch import Signal

event_detail = Signal()
