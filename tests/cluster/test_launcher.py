"""The local JetStream cluster launcher (core/nats_cluster.py) the cluster test and the bench use."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig

from core.nats_cluster import NatsCluster
from tests.conftest import wait_until

pytestmark = pytest.mark.cluster


def varz(cluster: NatsCluster, index: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster.nodes[index].monitor_port}/varz") as response:
        return dict(json.load(response))


async def test_a_replicated_stream_survives_its_leader_killed_and_the_node_rejoins_after_restart(
    tmp_path: Path,
) -> None:
    cluster = NatsCluster(3, base_dir=tmp_path, sync_interval="always").start()
    try:
        assert all(varz(cluster, i)["jetstream"]["config"]["sync_always"] for i in range(3))  # type: ignore[index]
        nc = await nats.connect(cluster.urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        js = nc.jetstream(timeout=2)
        await js.add_stream(StreamConfig(name="LAUNCHER", subjects=["launcher.>"], num_replicas=3))
        await js.publish("launcher.1", b"before")
        info = await js.stream_info("LAUNCHER")
        assert info.cluster is not None and info.cluster.leader
        leader = next(node.index for node in cluster.nodes if node.name == info.cluster.leader)

        cluster.kill(leader)
        assert not cluster.nodes[leader].running

        async def published_after_kill() -> bool:
            try:
                await js.publish("launcher.2", b"after", headers={"Nats-Msg-Id": "after"})
            except Exception:  # no leader yet, or reconnecting
                return False
            return True

        await wait_until(published_after_kill, timeout=30, interval=0.5)
        cluster.restart(leader)

        async def all_replicas_current() -> bool:
            info = await js.stream_info("LAUNCHER")
            replicas = info.cluster.replicas if info.cluster else None
            return (
                info.state.messages == 2
                and len(replicas or []) == 2
                and all(r.current for r in replicas or [])
            )

        await wait_until(all_replicas_current, timeout=30, interval=0.5)
        await nc.close()
    finally:
        cluster.stop()
    assert not any(node.running for node in cluster.nodes)


def test_a_cluster_in_a_temp_dir_removes_it_when_stopped() -> None:
    with NatsCluster(1) as cluster:
        base = cluster.base_dir
        assert base.exists() and cluster.url == cluster.nodes[0].url
        assert not varz(cluster, 0)["jetstream"]["config"].get("sync_always")  # type: ignore[attr-defined]
    assert not base.exists()
