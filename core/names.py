"""Stream, subject and consumer names, all behind one optional prefix (RELAY_NATS_PREFIX).

The prefix lets test runs and several Relay installations share one NATS account without
overlapping subjects, which JetStream forbids between streams.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from core.channel_names import channel_names


@dataclass(frozen=True)
class Names:
    prefix: str = ""

    @property
    def events_stream(self) -> str:
        return f"{self._stream_prefix}RELAY_EVENTS"

    @property
    def work_stream(self) -> str:
        return f"{self._stream_prefix}RELAY_WORK"

    @property
    def dlq_stream(self) -> str:
        return f"{self._stream_prefix}RELAY_DLQ"

    @property
    def _stream_prefix(self) -> str:
        return self.prefix.upper().replace(".", "_")

    def subject(self, tail: str) -> str:
        return f"{self.prefix}{tail}"

    def event_subject(self, event_type: str) -> str:
        return self.subject(f"relay.events.{event_type}")

    @property
    def route_subject(self) -> str:
        return self.subject("relay.route")

    @property
    def workflow_subject(self) -> str:
        """Runs to advance: started by route, woken by the scheduler and by inbox reads."""
        return self.subject("relay.workflow.run")

    def deliver_subject(self, channel: str) -> str:
        return self.subject(f"relay.deliver.{channel}")

    def dlq_subject(self, channel: str) -> str:
        return self.subject(f"relay.dlq.{channel}")

    @staticmethod
    def deliver_durable(channel: str) -> str:
        return f"deliver_{channel}"

    def consumers(self) -> dict[str, tuple[str, str]]:
        """Durable name -> (stream, filter subject) for every stage of the pipeline."""
        result = {
            "ingest": (self.events_stream, self.subject("relay.events.>")),
            "route": (self.work_stream, self.route_subject),
            "workflow": (self.work_stream, self.workflow_subject),
        }
        for channel in channel_names():
            result[self.deliver_durable(channel)] = (self.work_stream, self.deliver_subject(channel))
        return result


def names() -> Names:
    return Names(prefix=settings.RELAY_NATS_PREFIX)
