"""The benchmark end to end, as small as it goes: it runs, counts, and prints its JSON line.

No figure is asserted (the machine's speed is not the code's behaviour); only that every
key is there and that nothing accepted was lost or delivered twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "accepted_per_s",
    "accepted_batch_per_s",
    "delivered_inapp_per_s",
    "delivered_email_per_s",
    "latency_ms",
    "ceiling_per_s",
    "ratio",
    "events",
    "lost",
    "duplicated",
    "workflow",
    "inbox",
}


def test_quick_bench_reports_every_figure_and_loses_nothing() -> None:
    # The bench builds its own world; the test run's own settings (prefixes, short ack waits)
    # must not leak into it.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("RELAY_") and k != "DJANGO_SETTINGS_MODULE"
    }
    args = ["--quick", "--events", "60", "--subscribers", "10", "--ws-clients", "3"]
    args += ["--rate", "20", "--latency-seconds", "1", "--concurrency", "4", "--batch-size", "25"]
    args += ["--workflow-runs", "20", "--inbox-rows", "3000"]
    completed = subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=170
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    figures = orjson.loads(completed.stdout.strip().splitlines()[-1])
    assert figures.keys() >= KEYS
    assert set(figures["latency_ms"]) == {"p50", "p95", "p99"}
    assert figures["events"] == 60
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert figures["delivered_inapp_per_s"] > 0 and figures["ceiling_per_s"] > 0
    # The workflow phase: every run completed, each owed email sent once, none for a read message.
    workflow = figures["workflow"]
    assert (workflow["runs"], workflow["lost"], workflow["duplicated"]) == (20, 0, 0)
    assert workflow["emails_sent"] == workflow["emails_expected"] <= 20
    assert workflow["runs_completed_per_s"] > 0
    # The large-inbox phase: both subscribers measured, their ratios reported (no figure asserted).
    inbox = figures["inbox"]
    assert inbox["rows"] == 3000
    assert inbox["delivery_p99_ms"]["big"] > 0 and inbox["delivery_p99_ms"]["fresh"] > 0
    assert {"big", "fresh", "big_deep"} <= inbox["list_ms"].keys()
    assert inbox["delivery_p99_ratio"] > 0 and inbox["list_ratio"] > 0
    # Where the latency phase's CPU went: the API server and every stage its events pass did some
    # of the work (ingest routes events sent to one user itself; route only serves topics).
    assert {"uvicorn", "ingest", "deliver-in_app"} <= figures["cpu_ms_per_event"].keys()
