"""A local 3-node JetStream cluster (core/nats_cluster.py) per test, reached through a
``NATS_URL`` that lists every node, as a deployment's is."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.nats_cluster import NatsCluster
from pipeline.runner import ensure_streams
from tests.reliability.conftest import _close_publisher


@pytest.fixture
def cluster(tmp_path: Path, settings: Any) -> Iterator[NatsCluster]:
    with NatsCluster(3, base_dir=tmp_path / "cluster") as running:
        settings.NATS_URL = running.url
        yield running
        _close_publisher(running.url)


@pytest.fixture
def r3_streams(cluster: NatsCluster, settings: Any) -> NatsCluster:
    """This run's streams on the cluster, three copies of each (what pipeline_setup makes)."""
    settings.RELAY_STREAM_REPLICAS = 3
    asyncio.run(ensure_streams(change_replicas=True))
    return cluster
