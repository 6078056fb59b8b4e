"""JetStream plumbing of the pipeline: creating streams and consumers, publishing in bulk.

Connecting is ``core.nats_client``, shared with the API's publisher.

Only features present in nats-server 2.9 are used (pull consumers, nak with delay,
``Nats-Msg-Id`` deduplication, work-queue retention), so the system server and the newer
one from the wheel both work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, replace

import structlog
from django.conf import settings
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError

from core.names import Names, names

log = structlog.get_logger(__name__)

DAY = 24 * 3600.0


def stream_configs(n: Names) -> list[StreamConfig]:
    """The pipeline's streams, each kept in ``RELAY_STREAM_REPLICAS`` copies (its consumers follow)."""
    replicas = int(settings.RELAY_STREAM_REPLICAS)
    return [
        StreamConfig(
            name=n.events_stream,
            subjects=[n.subject("relay.events.>")],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            num_replicas=replicas,
            duplicate_window=120.0,
            max_age=7 * DAY,
            max_bytes=int(settings.RELAY_EVENTS_STREAM_MAX_BYTES),
        ),
        StreamConfig(
            name=n.work_stream,
            subjects=[n.route_subject, n.subject("relay.workflow.>"), n.subject("relay.deliver.>")],
            storage=StorageType.FILE,
            retention=RetentionPolicy.WORK_QUEUE,
            num_replicas=replicas,
            duplicate_window=120.0,
        ),
        StreamConfig(
            name=n.status_stream,
            subjects=[n.subject("relay.status.>")],
            storage=StorageType.FILE,
            retention=RetentionPolicy.WORK_QUEUE,
            num_replicas=replicas,
            duplicate_window=120.0,
            max_age=7 * DAY,
        ),
        StreamConfig(
            name=n.dlq_stream,
            subjects=[n.subject("relay.dlq.>")],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            num_replicas=replicas,
            max_age=30 * DAY,
        ),
    ]


class StreamSetupError(Exception):
    """A stream or consumer cannot be given the configured shape; the message says what to do."""


# What JetStream fixes for a stream's whole life: changing them means a new stream.
FIXED_FIELDS = ("storage", "retention")


async def setup_streams(js: JetStreamContext, n: Names | None = None, change_replicas: bool = True) -> None:
    """Create or update every stream and durable consumer; safe to run any number of times.

    Live streams take the configured replica count (``RELAY_STREAM_REPLICAS``) only when
    ``change_replicas``: ``pipeline_setup`` sets it, while a stage starting up leaves a live
    stream's copies as they are, so one worker started without the setting cannot scale a
    cluster's streams down. Anything JetStream refuses raises ``StreamSetupError``.
    """
    n = n or names()
    for config in stream_configs(n):
        await _create_or_update_stream(js, config, change_replicas)
    for durable, (stream, subject) in n.consumers().items():
        try:
            await js.add_consumer(
                stream,
                ConsumerConfig(
                    durable_name=durable,
                    filter_subject=subject,
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=float(settings.RELAY_ACK_WAIT),
                    max_ack_pending=int(settings.RELAY_MAX_ACK_PENDING),
                ),
            )
        except ServiceUnavailableError:
            raise  # no JetStream leader for the moment: transient, ensure_streams tries again
        except APIError as error:
            raise StreamSetupError(
                f"Consumer {durable} on stream {stream}: JetStream refused its configuration "
                f"({error.description}, error {error.err_code}). Wait until the stage has no pending "
                f"messages, delete the consumer (nats consumer rm {stream} {durable}) and run "
                "pipeline_setup again."
            ) from error
    log.info("pipeline_streams_ready", prefix=n.prefix, replicas=int(settings.RELAY_STREAM_REPLICAS))


async def _create_or_update_stream(js: JetStreamContext, config: StreamConfig, change_replicas: bool) -> None:
    name = str(config.name)
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        try:
            await js.add_stream(config)
        except ServiceUnavailableError:
            raise
        except APIError as error:
            raise _refused(name, config, error, live=None) from error
        return
    current = info.config
    for field in FIXED_FIELDS:
        have, want = getattr(current, field), getattr(config, field)
        if have != want:
            raise StreamSetupError(
                f"Stream {name}: its {field} is {_value(have)} and Relay needs {_value(want)}; "
                f"JetStream cannot change a stream's {field} in place. Stop the API, let every stage "
                "drain (jetstream_consumer_num_pending 0 on /metrics), delete the stream "
                f"(nats stream rm {name}; back it up first with nats stream backup if you want its "
                "history) and run pipeline_setup again."
            )
    if not change_replicas and current.num_replicas != config.num_replicas:
        log.warning(
            "stream_replicas_left", stream=name, live=current.num_replicas, configured=config.num_replicas
        )
        config = replace(config, num_replicas=current.num_replicas)
    if info.cluster is None and int(config.num_replicas or 1) > 1:
        # A single server takes the new count without complaint and keeps one copy.
        raise _refused(name, config, "the NATS server is not clustered", live=current.num_replicas)
    try:
        await js.update_stream(config)
    except ServiceUnavailableError:
        raise
    except APIError as error:
        raise _refused(name, config, error, live=current.num_replicas) from error


def _refused(name: str, config: StreamConfig, why: APIError | str, live: int | None) -> StreamSetupError:
    """Why a stream's configuration cannot be applied, and what the operator can do about it."""
    if isinstance(why, APIError):
        why = f"{why.description}, error {why.err_code}"
    replicas = int(config.num_replicas or 1)
    message = f"Stream {name}: JetStream refused it ({why})."
    if replicas > 1:
        message += (
            f" RELAY_STREAM_REPLICAS={replicas} needs a JetStream cluster of at least {replicas} servers,"
            " all up; against a single server set RELAY_STREAM_REPLICAS=1."
        )
    if live is not None and live != replicas:
        message += (
            f" The live stream has {live} replica(s). If this server cannot change that in place, set"
            f" RELAY_STREAM_REPLICAS={live} again, or drain the pipeline, delete the stream"
            f" (nats stream rm {name}) and run pipeline_setup to create it with {replicas}."
        )
    return StreamSetupError(message)


def _value(value: object) -> str:
    return str(getattr(value, "value", value))


async def delete_streams(js: JetStreamContext, n: Names) -> None:
    for config in stream_configs(n):
        try:
            await js.delete_stream(str(config.name))
        except NotFoundError:
            pass


@dataclass(frozen=True)
class Outgoing:
    subject: str
    payload: bytes
    msg_id: str


async def publish_all(js: JetStreamContext, messages: Iterable[Outgoing]) -> None:
    """Publish with many acks in flight at once; raise if any message was not stored.

    Awaiting each PubAck in turn caps a stage near 3,500 msg/s on this hardware; letting
    them overlap lifts that to the ~12,000/s the server can take.
    """
    futures = [
        await js.publish_async(m.subject, m.payload, headers={"Nats-Msg-Id": m.msg_id}) for m in messages
    ]
    if futures:
        await asyncio.wait_for(asyncio.gather(*futures), timeout=float(settings.RELAY_PUBLISH_TIMEOUT) * 5)
