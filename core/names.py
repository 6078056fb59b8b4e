"""Stream, subject and consumer names, all behind one optional prefix (RELAY_NATS_PREFIX).

The prefix lets test runs and several Relay installations share one NATS account without
overlapping subjects, which JetStream forbids between streams.

The in-app channel is *partitioned* by subscriber: its deliver messages go to
``relay.deliver.in_app.p<k>`` with ``k = subscriber id % RELAY_IN_APP_PARTITIONS``, one durable
consumer per partition, so that one worker at a time handles a subscriber's messages, in order
(``pipeline/partitions.py``). The publisher computes ``k`` itself: a NATS subject mapping
(``{{partition(n, ...)}}``) is server or account configuration every deployment would have to
carry, and a stream's ``subject_transform`` needs nats-server 2.10.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from core.channel_names import channel_names

# Channels whose messages a subscriber sees in order: one partition consumer per worker slot.
PARTITIONED_CHANNELS = frozenset({"in_app"})


@dataclass(frozen=True)
class Names:
    prefix: str = ""
    in_app_partitions: int = 1

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
    def status_stream(self) -> str:
        """Status events (delivery outcomes, inbox reads, finished runs) for the status webhooks."""
        return f"{self._stream_prefix}RELAY_STATUS"

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

    def deliver_subject(self, channel: str, subscriber_id: int) -> str:
        """Where a delivery to ``subscriber_id`` on ``channel`` is sent: its partition's subject
        for a partitioned channel (every message of one subscriber in one partition)."""
        if channel in PARTITIONED_CHANNELS:
            return self.partition_subject(channel, subscriber_id % self.partitions(channel))
        return self.subject(f"relay.deliver.{channel}")

    def partitions(self, channel: str) -> int:
        return self.in_app_partitions if channel in PARTITIONED_CHANNELS else 1

    def partition_subject(self, channel: str, partition: int) -> str:
        return self.subject(f"relay.deliver.{channel}.p{partition}")

    @staticmethod
    def partition_durable(channel: str, partition: int) -> str:
        return f"deliver_{channel}_p{partition}"

    def status_subject(self, event_type: str) -> str:
        return self.subject(f"relay.status.{event_type}")

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
            "webhooks": (self.status_stream, self.subject("relay.status.>")),
        }
        for channel in channel_names():
            if channel in PARTITIONED_CHANNELS:
                for k in range(self.partitions(channel)):
                    result[self.partition_durable(channel, k)] = (
                        self.work_stream,
                        self.partition_subject(channel, k),
                    )
            else:
                result[self.deliver_durable(channel)] = (
                    self.work_stream,
                    self.subject(f"relay.deliver.{channel}"),
                )
        return result


def names() -> Names:
    return Names(prefix=settings.RELAY_NATS_PREFIX, in_app_partitions=int(settings.RELAY_IN_APP_PARTITIONS))
