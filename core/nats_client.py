"""Connecting to NATS: the configured server, or an embedded one started on demand.

Shared by the API's publisher (``core.publisher``) and the pipeline's stages, so both
connect with the same reconnect policy and find the same embedded server.
"""

from __future__ import annotations

import atexit
import subprocess
from collections.abc import Sequence

import nats
import structlog
from django.conf import settings
from nats.aio.client import Client as NATS

from core.embedded_nats import port_open, start_nats_server

log = structlog.get_logger(__name__)

_embedded_process: subprocess.Popen[bytes] | None = None


def nats_url() -> str:
    """The configured NATS URL; with none configured, the embedded server (started on demand).

    It may list several servers of one cluster, comma-separated (``nats_servers`` splits it).
    """
    if settings.NATS_URL:
        return str(settings.NATS_URL)
    return ensure_embedded_nats()


def nats_servers(urls: str | Sequence[str] | None = None) -> list[str]:
    """The servers to connect to: ``urls`` (the configured ones if None) split at commas.

    nats-py takes a cluster as a list and refuses ``"nats://a:4222,nats://b:4222"`` as one
    string ("invalid connect url option"); ``NATS_URL`` is one environment variable, so the
    list arrives comma-separated.
    """
    entries = [nats_url()] if urls is None else [urls] if isinstance(urls, str) else list(urls)
    servers = [server.strip() for entry in entries for server in entry.split(",") if server.strip()]
    if not servers:
        raise ValueError("no NATS server given")
    return servers


def ensure_embedded_nats() -> str:
    global _embedded_process
    port = settings.NATS_EMBEDDED_PORT
    if not port_open("127.0.0.1", port):
        _embedded_process = start_nats_server(port, settings.NATS_EMBEDDED_DIR)
        atexit.register(stop_embedded_nats)
        log.info("embedded_nats_started", port=port, store=str(settings.NATS_EMBEDDED_DIR))
    return f"nats://127.0.0.1:{port}"


def stop_embedded_nats() -> None:
    global _embedded_process
    if _embedded_process is not None and _embedded_process.poll() is None:
        _embedded_process.terminate()
        _embedded_process.wait(timeout=10)
    _embedded_process = None


async def connect(name: str, **options: object) -> NATS:
    """Connect with reconnects on: a stage survives a NATS restart and resumes.

    With several servers, a reconnect tries each of them in turn (and those the cluster
    announced), so a client follows the cluster across the loss of any one node.
    """

    async def on_error(error: Exception) -> None:
        log.warning("nats_error", client=name, error=str(error))

    async def on_disconnect() -> None:
        log.warning("nats_disconnected", client=name)

    async def on_reconnect() -> None:
        log.info("nats_reconnected", client=name)

    defaults: dict[str, object] = {
        "name": name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 1,
        "connect_timeout": 2,
        "error_cb": on_error,
        "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect,
    }
    defaults.update(options)
    servers = nats_servers(defaults.pop("servers", None))  # type: ignore[arg-type]
    return await nats.connect(servers, **defaults)  # type: ignore[arg-type]
