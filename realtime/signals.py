"""Signals of the inbox, for layers above it (workflows) that must react to a state change.

``inbox_changed`` is sent after every change of message state, from the inbox API and the
WebSocket alike, with ``subscriber_id``, ``action`` (``read``, ``seen``, ``archive``,
``read_all``) and ``ids`` (the inbox messages it touched).
"""

from __future__ import annotations

from django.dispatch import Signal

inbox_changed = Signal()

inbox_state_changed = Signal()
"""Sent inside the transaction of a state change the status webhooks report (``read``,
``seen``, ``archive``, ``action``), with ``action``, ``ids`` (the messages changed) and
``details`` (an action button's ``key``), so what a receiver writes commits with the change."""
