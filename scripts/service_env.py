"""Print shell exports that point Relay at the loopback services that answer.

Used by `make test`: PostgreSQL, Redis and NATS on 127.0.0.1 when they are up, the embedded
defaults otherwise. With CI=true a missing service is an error, not a silent fallback.
Variables already set in the environment are left alone.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys

SERVICES = {
    "DATABASE_URL": (5432, "postgres://postgres@127.0.0.1:5432/postgres"),
    "REDIS_URL": (6379, "redis://127.0.0.1:6379/0"),
    "NATS_URL": (4222, "nats://127.0.0.1:4222"),
}


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def main() -> int:
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    missing = []
    for name, (port, url) in SERVICES.items():
        if os.environ.get(name):
            continue
        if answers(port):
            print(f"export {name}={shlex.quote(url)}")
        else:
            missing.append(f"{name} (127.0.0.1:{port})")
    if missing:
        message = "not answering: " + ", ".join(missing)
        if in_ci:
            print(f"service_env: {message}; CI needs every service", file=sys.stderr)
            return 1
        print(f"service_env: {message}; using the embedded defaults", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
