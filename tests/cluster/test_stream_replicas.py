"""``pipeline_setup`` gives streams ``RELAY_STREAM_REPLICAS`` copies, live streams included, and
stops with a message saying what to do when JetStream cannot apply the configuration in place."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from django.core.management import CommandError, call_command
from nats.js.api import RetentionPolicy, StorageType, StreamConfig

from core.embedded_nats import free_port, start_nats_server
from core.names import names
from core.nats_cluster import NatsCluster
from pipeline import jetstream
from pipeline.runner import ensure_streams
from tests.conftest import start_manage

pytestmark = pytest.mark.cluster


@pytest.fixture
def single_server(tmp_path: Path, settings: Any) -> Iterator[str]:
    port = free_port()
    process = start_nats_server(port, tmp_path / "single")
    settings.NATS_URL = f"nats://127.0.0.1:{port}"
    yield settings.NATS_URL
    process.terminate()
    process.wait(timeout=10)


def streams_state(url: str) -> dict[str, tuple[int, int]]:
    """Every pipeline stream: (replicas configured, peers holding a copy)."""

    async def look() -> dict[str, tuple[int, int]]:
        nc = await nats.connect(url.split(","))
        try:
            js = nc.jetstream()
            state = {}
            for config in jetstream.stream_configs(names()):
                info = await js.stream_info(str(config.name))
                peers = 1 + len(info.cluster.replicas or []) if info.cluster and info.cluster.leader else 1
                state[str(config.name)] = (int(info.config.num_replicas or 1), peers)
            return state
        finally:
            await nc.close()

    return asyncio.run(look())


def consumer_peers(url: str, stream: str, durable: str) -> int:
    async def look() -> int:
        nc = await nats.connect(url.split(","))
        try:
            info = await nc.jetstream().consumer_info(stream, durable)
            return 1 + len(info.cluster.replicas or []) if info.cluster else 1
        finally:
            await nc.close()

    return asyncio.run(look())


def add_stream(url: str, config: StreamConfig) -> None:
    async def add() -> None:
        nc = await nats.connect(url.split(","))
        try:
            await nc.jetstream().add_stream(config)
        finally:
            await nc.close()

    asyncio.run(add())


def wait_for_peers(url: str, expected: int) -> dict[str, tuple[int, int]]:
    """Replicas catch up in the background once a stream is scaled; poll until they have."""
    for _ in range(100):
        state = streams_state(url)
        if all(peers == expected for _, peers in state.values()):
            return state
        asyncio.run(asyncio.sleep(0.2))
    return state


def test_a_comma_separated_nats_url_reaches_the_cluster_and_setup_makes_every_stream_r3(
    cluster: NatsCluster, settings: Any
) -> None:
    process = start_manage("pipeline_setup", RELAY_STREAM_REPLICAS="3")
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output
    assert "streams and consumers ready (3 replica(s))" in output
    state = wait_for_peers(cluster.url, 3)
    assert set(state.values()) == {(3, 3)}
    n = names()
    assert consumer_peers(cluster.url, n.work_stream, "route") == 3


def test_live_r1_streams_are_scaled_to_r3_in_place_and_back_and_keep_their_messages(
    cluster: NatsCluster, settings: Any
) -> None:
    settings.RELAY_STREAM_REPLICAS = 1
    call_command("pipeline_setup")
    assert set(streams_state(cluster.url).values()) == {(1, 1)}

    async def publish() -> None:
        """Retried while the new stream's subjects reach every node (no responders meanwhile)."""
        nc = await nats.connect(cluster.urls)
        try:
            for attempt in range(50):
                try:
                    await nc.jetstream().publish(names().subject("relay.events.kept"), b"{}")
                    return
                except (nats.errors.NoRespondersError, nats.js.errors.NoStreamResponseError):
                    if attempt == 49:
                        raise
                    await asyncio.sleep(0.2)
        finally:
            await nc.close()

    asyncio.run(publish())
    settings.RELAY_STREAM_REPLICAS = 3
    call_command("pipeline_setup")
    assert set(wait_for_peers(cluster.url, 3).values()) == {(3, 3)}
    n = names()
    assert consumer_peers(cluster.url, n.events_stream, "ingest") == 3  # consumers follow their stream

    settings.RELAY_STREAM_REPLICAS = 1  # nats-server 2.10+ scales down in place too
    call_command("pipeline_setup")
    assert set(wait_for_peers(cluster.url, 1).values()) == {(1, 1)}

    async def kept() -> int:
        nc = await nats.connect(cluster.urls)
        info = await nc.jetstream().stream_info(n.events_stream)
        await nc.close()
        return int(info.state.messages)

    assert asyncio.run(kept()) == 1


def test_a_starting_stage_leaves_a_live_streams_replicas_alone(cluster: NatsCluster, settings: Any) -> None:
    settings.RELAY_STREAM_REPLICAS = 3
    call_command("pipeline_setup")
    settings.RELAY_STREAM_REPLICAS = 1  # a worker started without the setting
    asyncio.run(ensure_streams())
    assert {replicas for replicas, _ in wait_for_peers(cluster.url, 3).values()} == {3}


def test_more_replicas_than_nodes_stops_setup_with_what_to_do(cluster: NatsCluster, settings: Any) -> None:
    settings.RELAY_STREAM_REPLICAS = 5
    with pytest.raises(CommandError) as refused:
        call_command("pipeline_setup")
    assert "RELAY_STREAM_REPLICAS=5 needs a JetStream cluster of at least 5 servers" in str(refused.value)


def test_replicas_on_a_single_server_exit_non_zero_for_new_and_live_streams(
    single_server: str, settings: Any
) -> None:
    process = start_manage("pipeline_setup", RELAY_STREAM_REPLICAS="3")
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode != 0
    assert "not supported in non-clustered mode" in output
    assert "against a single server set RELAY_STREAM_REPLICAS=1" in output

    call_command("pipeline_setup")  # R1 works; then R3 on the live streams is refused too
    settings.RELAY_STREAM_REPLICAS = 3
    with pytest.raises(CommandError) as refused:
        call_command("pipeline_setup")
    # nats-server 2.10+ refuses it; 2.9 would take it silently and keep one copy, Relay does not.
    assert "non-clustered mode" in str(refused.value) or "not clustered" in str(refused.value)
    assert "The live stream has 1 replica(s)" in str(refused.value)


def test_a_stream_stored_in_memory_is_not_silently_kept_setup_says_to_recreate_it(single_server: str) -> None:
    n = names()
    add_stream(
        single_server,
        StreamConfig(
            name=n.events_stream, subjects=[n.subject("relay.events.>")], storage=StorageType.MEMORY
        ),
    )
    process = start_manage("pipeline_setup")
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode != 0
    assert f"Stream {n.events_stream}: its storage is memory and Relay needs file" in output
    assert f"nats stream rm {n.events_stream}" in output


def test_a_work_stream_with_the_wrong_retention_stops_setup(single_server: str) -> None:
    n = names()
    add_stream(
        single_server,
        StreamConfig(
            name=n.work_stream,
            subjects=[n.route_subject],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
        ),
    )
    with pytest.raises(CommandError) as refused:
        call_command("pipeline_setup")
    assert "its retention is limits and Relay needs workqueue" in str(refused.value)


def test_the_configured_server_refuses_replicas_it_cannot_keep(nats_url: str, settings: Any) -> None:
    """The suite's own NATS (2.9.10 in CI) is a single server: on 2.9 a live stream would take R3
    silently and keep one copy, so Relay checks for a cluster itself."""
    settings.RELAY_NATS_PREFIX = f"{settings.RELAY_NATS_PREFIX}replicas."
    call_command("pipeline_setup")
    try:
        settings.RELAY_STREAM_REPLICAS = 3
        with pytest.raises(CommandError) as refused:
            call_command("pipeline_setup")
        assert "The live stream has 1 replica(s)" in str(refused.value)
        assert set(streams_state(nats_url).values()) == {(1, 1)}
    finally:

        async def delete() -> None:
            nc = await nats.connect(nats_url)
            await jetstream.delete_streams(nc.jetstream(), names())
            await nc.close()

        asyncio.run(delete())
