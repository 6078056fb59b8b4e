"""Worker liveness: a running worker keeps its liveness file fresh, a stuck one lets it age, and
the probe a container healthcheck runs tells the two apart."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.liveness import Liveness
from tests.conftest import ROOT, start_manage, wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]


def probe(path: Path, max_age: float) -> subprocess.CompletedProcess[str]:
    """The compose/Dockerfile healthcheck: `python -m pipeline.liveness`, no Django start-up."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline.liveness", "--file", str(path), "--max-age", str(max_age)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("command", [("consume", "ingest"), ("scheduler",)], ids=["consume", "scheduler"])
async def test_a_worker_is_live_while_its_loop_turns_and_not_once_it_is_stuck(
    streams: None, tmp_path: Path, command: tuple[str, ...]
) -> None:
    alive = tmp_path / "alive"
    missing = probe(alive, max_age=2)
    assert missing.returncode == 1 and "does not exist" in missing.stderr

    worker = start_manage(*command, RELAY_LIVENESS_FILE=str(alive))
    try:
        await wait_until(lambda: probe(alive, max_age=2).returncode == 0, timeout=60, interval=0.5)
        # A stopped process stands for a loop stuck on an await that never returns.
        worker.send_signal(signal.SIGSTOP)
        stuck = await wait_until(lambda: _failing(probe(alive, max_age=2)), timeout=30, interval=0.5)
        assert "old (max 2s)" in stuck.stderr
        worker.send_signal(signal.SIGCONT)
        await wait_until(lambda: probe(alive, max_age=2).returncode == 0, timeout=30, interval=0.5)
    finally:
        worker.send_signal(signal.SIGCONT)
        worker.terminate()
        worker.wait(timeout=30)
    assert worker.returncode == 0


def _failing(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str] | None:
    return result if result.returncode == 1 else None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_stuck_loop_of_several_stops_the_touches(tmp_path: Path) -> None:
    """run_all runs every stage in one process: the file stays fresh only while all of them turn."""
    alive, clock = tmp_path / "alive", Clock()
    liveness = Liveness(alive, max_age=10, clock=clock)
    liveness.beat("ingest")
    liveness.beat("route")
    assert alive.exists()
    alive.unlink()

    clock.now += 5
    liveness.beat("route")
    assert alive.exists(), "ingest beat 5 s ago, within max_age"
    alive.unlink()

    for _ in range(20):  # route keeps turning; ingest last turned 11 s ago and more
        clock.now += 1
        liveness.beat("route")
        if clock.now - 1000 > 10:
            assert not alive.exists(), "ingest is stuck: no touch however often route turns"
        alive.unlink(missing_ok=True)

    liveness.leave("ingest")  # a loop that stopped on purpose holds no one back
    clock.now += 1
    liveness.beat("route")
    assert alive.exists()


def test_without_a_file_liveness_is_off_and_the_probe_says_so(tmp_path: Path) -> None:
    Liveness(None, max_age=10).beat("ingest")
    assert list(tmp_path.iterdir()) == []
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.liveness"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1 and "set RELAY_LIVENESS_FILE" in result.stderr
