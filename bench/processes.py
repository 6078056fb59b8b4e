"""The pipeline under test: the ASGI server and each stage as its own process (``--replicas``
of each, sharing the stage's durable consumer, as a horizontally scaled deployment runs them).

Without Redis the channel layer is in-memory and cannot cross processes, so the in-app push
would never reach the WebSocket server; in that case everything runs in one ``run_all``
process, as ``make run`` does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.environment import BenchEnvironment
from bench.options import Options

ROOT = Path(__file__).resolve().parent.parent
STAGES = [
    ("ingest", ["consume", "ingest"]),
    ("route", ["consume", "route"]),
    ("workflow", ["consume", "workflow"]),
    ("deliver-in_app", ["consume", "deliver", "--channel", "in_app"]),
    ("deliver-email", ["consume", "deliver", "--channel", "email"]),
]
# Not a stage (logs no "stage_started"): wakes the workflow phase's delays.
SCHEDULER = ("scheduler", ["scheduler"])


REPLICA_SEPARATOR = "#"


def replica_name(stage: str, replica: int, replicas: int) -> str:
    """``ingest`` with one replica (the labels of a default run do not change), ``ingest#2`` with more."""
    return stage if replicas == 1 else f"{stage}{REPLICA_SEPARATOR}{replica}"


def stage_of(name: str) -> str:
    return name.split(REPLICA_SEPARATOR, 1)[0]


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Pipeline:
    env: BenchEnvironment
    options: Options
    children: list[Child] = field(default_factory=list)
    profilers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env.http_port}"

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = self.env.workdir / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv, cwd=ROOT, env=self.env.child_env, stdout=out, stderr=subprocess.STDOUT
            )
        self.children.append(Child(name, process, log))

    def server_argv(self) -> list[str]:
        port = str(self.env.http_port)
        if self.options.server == "daphne":
            return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", port, "config.asgi:application"]
        return [
            sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
            "--port", port, "--lifespan", "off", "--log-level", "warning", "--no-access-log",
            "--workers", str(self.options.workers),
        ]  # fmt: skip

    def start(self, timeout_per_replica: float = 120.0) -> None:
        """Start every process; wait until each stage has started and the API answers. Each
        replica adds its share of Django start-ups on the same cores, hence the longer wait."""
        timeout = timeout_per_replica * self.options.replicas
        manage = [sys.executable, str(ROOT / "manage.py")]
        if self.env.redis_url:
            self._spawn(self.options.server, self.server_argv())
            replicas = self.options.replicas
            for name, args in [*STAGES, SCHEDULER]:
                for replica in range(1, replicas + 1):
                    self._spawn(replica_name(name, replica, replicas), [*manage, *args])
            expected_stages = len(STAGES) * replicas
        else:
            if self.options.replicas > 1:
                raise RuntimeError(
                    "--replicas needs REDIS_URL: without it the pipeline is one run_all process"
                )
            self._spawn("run_all", [*manage, "run_all", "--port", str(self.env.http_port)])
            expected_stages = 6
        self._wait_ready(expected_stages, timeout)
        if self.options.profile_dir:
            self._start_profilers(Path(self.options.profile_dir))

    def _start_profilers(self, directory: Path) -> None:
        """py-spy samples each process (and uvicorn's workers) until the run stops it."""
        directory.mkdir(parents=True, exist_ok=True)
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        for child in self.children:
            self.profilers.append(
                subprocess.Popen(
                    [
                        py_spy,
                        "record",
                        "--pid",
                        str(child.process.pid),
                        "--subprocesses",
                        "--nonblocking",
                        "--gil",  # only samples that hold the GIL: Python's CPU, not its waits
                        "--rate",
                        "200",
                        "--format",
                        "raw",
                        "-o",
                        str(directory / f"{child.name}.txt"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def _stages_started(self) -> int:
        return sum(c.log.read_bytes().count(b'"stage_started"') for c in self.children if c.log.exists())

    def _wait_ready(self, expected_stages: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if self._stages_started() >= expected_stages and self._http_answers():
                return
            time.sleep(0.2)
        raise RuntimeError("pipeline not ready in time:\n" + self.logs())

    def _http_answers(self) -> bool:
        try:
            httpx.get(f"{self.base_url}/api/events/none", timeout=1.0)
        except httpx.HTTPError:
            return False
        return True

    def check_alive(self) -> None:
        for child in self.children:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}")

    def logs(self) -> str:
        return "\n".join(f"--- {c.name}\n{c.tail()}" for c in self.children)

    def pids(self) -> dict[str, int]:
        return {c.name: c.process.pid for c in self.children}

    def stop(self) -> None:
        for profiler in self.profilers:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for profiler in self.profilers:
            try:
                profiler.wait(timeout=20)
            except subprocess.TimeoutExpired:
                profiler.kill()
        for child in self.children:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.kill(child.process.pid, signal.SIGKILL)
                child.process.wait()
