"""What a stage gets besides its batch: the JetStream context and the subject names."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext

from core.names import Names


@dataclass
class StageContext:
    js: JetStreamContext
    names: Names
