"""What a stage gets besides its batch: the JetStream context and the subject names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from core.names import Names


@dataclass
class StageContext:
    js: JetStreamContext
    names: Names
    # A partition consumer (pipeline/partitions.py): messages are settled in the order they
    # came, so a retry is raised as ``RetryInOrder`` rather than nak'ed past later ones.
    ordered: bool = False


class RetryInOrder(Exception):
    """Messages an ordered stage could not settle yet: the partition's loop holds them (and
    everything after them) for ``delay`` seconds, then hands them to the stage again."""

    def __init__(self, msgs: Sequence[Msg], delay: float) -> None:
        super().__init__(f"{len(msgs)} messages to retry in order in {delay:.1f}s")
        self.msgs = list(msgs)
        self.delay = delay
