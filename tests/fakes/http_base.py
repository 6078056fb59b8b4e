"""A threaded HTTP server on loopback for the provider fakes."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from core.embedded_nats import free_port


class FakeHandler(BaseHTTPRequestHandler):
    """Hands each POST to ``server.fake.handle_post(path, headers, body)``."""

    server: FakeHttpServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        status, payload = self.server.fake.handle_post(self.path, self.headers, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


class FakeHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # send_each opens up to 500 connections at once

    def __init__(self, fake: Any) -> None:
        super().__init__(("127.0.0.1", free_port()), FakeHandler)
        self.fake = fake


class LocalHttpFake:
    """Base of the fakes: start/stop a server whose POSTs go to ``handle_post``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.httpd = FakeHttpServer(self)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle_post(self, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        raise NotImplementedError


def form(body: bytes) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(body.decode()).items()}
