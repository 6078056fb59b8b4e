"""Signals of the notifications app, for layers above it that decide about events.

``event_type_routed`` is sent while an event without ``channels`` is validated, with
``event_type``; a receiver returns True when it routes events of that type itself (the
workflows app, for a type with a published workflow: its steps pick the channels), so the
event API accepts such events without importing the layer above.
"""

from __future__ import annotations

from django.dispatch import Signal

event_type_routed = Signal()


def routed_elsewhere(event_type: str) -> bool:
    """Whether some app routes ``event_type`` itself, so an event of it needs no channels."""
    return any(answer is True for _, answer in event_type_routed.send(sender=None, event_type=event_type))
