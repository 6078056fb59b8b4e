"""The end of a run: a table for people, then one JSON line for machines (always the last line)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from bench.cpu import by_stage
from bench.latency import percentile


@dataclass
class Figures:
    accepted_per_s: float = 0.0
    accepted_batch_per_s: float = 0.0
    delivered_inapp_per_s: float = 0.0
    delivered_email_per_s: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    ceiling_per_s: float = 0.0
    ceiling_publish_per_s: float = 0.0
    events: int = 0
    events_total: int = 0
    lost: int = 0
    duplicated: int = 0
    ws_missed: int = 0
    rate: float = 0.0
    concurrency: int = 0
    server: str = ""
    mode: str = ""
    elapsed_s: float = 0.0
    workflow_runs: int = 0
    workflow_runs_per_s: float = 0.0
    workflow_read: int = 0  # runs whose message was read before the delay ended
    workflow_emails_expected: int = 0
    workflow_emails_sent: int = 0
    workflow_lost: int = 0
    workflow_duplicated: int = 0
    # CPU milliseconds per event during the latency phase, per process (bench/cpu.py).
    cpu_ms_per_event: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # The large-inbox phase (bench/inbox_phase.py); empty when skipped.
    inbox: dict[str, Any] = field(default_factory=dict)
    replicas: int = 1
    nats: dict[str, Any] = field(default_factory=dict)  # nodes, stream copies, sync_interval
    # Per phase (single, batch, workflow (per run), latency): CPU ms per event summed over
    # each stage's replicas, and what PostgreSQL wrote per event (bench/pgstats.py).
    cpu_ms_per_stage: dict[str, dict[str, float]] = field(default_factory=dict)
    postgres_per_event: dict[str, dict[str, float]] = field(default_factory=dict)
    # Per offered rate ("100"): p50/p95/p99 ms and all processes' CPU ms per event. The first
    # rate's are also p50/p95/p99 and cpu_ms_per_event above.
    latency_by_rate: dict[str, dict[str, float]] = field(default_factory=dict)
    # --history: the same phases on the fresh and on the loaded database (``add_history``).
    history: dict[str, Any] = field(default_factory=dict)

    def record_latency(self, rate: float, latencies_ms: Sequence[float], cpu_ms: dict[str, float]) -> None:
        p50, p95, p99 = (percentile(latencies_ms, p) for p in (50, 95, 99))
        if not self.latency_by_rate:
            self.p50, self.p95, self.p99, self.cpu_ms_per_event = p50, p95, p99, cpu_ms
        self.latency_by_rate[f"{rate:g}"] = {
            "p50": round(p50, 1),
            "p95": round(p95, 1),
            "p99": round(p99, 1),
            "cpu_ms_per_event": round(sum(cpu_ms.values()), 2),
        }

    def comparable(self) -> dict[str, float]:
        """The figures one round of phases yields, flat, to set two rounds side by side."""
        figures = {
            "accepted_per_s": round(self.accepted_per_s, 1),
            "accepted_batch_per_s": round(self.accepted_batch_per_s, 1),
            "delivered_inapp_per_s": round(self.delivered_inapp_per_s, 1),
            "delivered_email_per_s": round(self.delivered_email_per_s, 1),
            "workflow_runs_per_s": round(self.workflow_runs_per_s, 1),
        }
        for rate, latency in self.latency_by_rate.items():
            figures |= {f"latency_{p}_ms@{rate}": latency[p] for p in ("p50", "p95", "p99")}
        for phase, stages in self.cpu_ms_per_stage.items():
            figures[f"cpu_ms_per_event@{phase}"] = round(sum(stages.values()), 2)
        return figures

    def add_history(self, rows: int, load_s: float, loaded: Figures) -> None:
        """This round's figures (the fresh database) beside ``loaded``'s (after ``rows`` of history)."""
        fresh, after = self.comparable(), loaded.comparable()
        self.history = {
            "rows": rows,
            "load_s": round(load_s, 1),
            "fresh": fresh,
            "loaded": after,
            "ratio": {k: round(after[k] / v, 2) if v else 0.0 for k, v in fresh.items() if k in after},
            "loaded_cpu_ms_per_stage": loaded.cpu_ms_per_stage,
            "loaded_postgres_per_event": loaded.postgres_per_event,
        }
        self.ws_missed += loaded.ws_missed
        self.notes += loaded.notes

    def record_phase(
        self,
        phase: str,
        cpu_ms: dict[str, float],
        database: dict[str, float],
        stage_of: Callable[[str], str],
    ) -> None:
        self.cpu_ms_per_stage[phase] = by_stage(cpu_ms, stage_of)
        if database:
            self.postgres_per_event[phase] = database

    @property
    def ratio(self) -> float:
        return self.delivered_inapp_per_s / self.ceiling_per_s if self.ceiling_per_s else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted_per_s": round(self.accepted_per_s, 1),
            "accepted_batch_per_s": round(self.accepted_batch_per_s, 1),
            "delivered_inapp_per_s": round(self.delivered_inapp_per_s, 1),
            "delivered_email_per_s": round(self.delivered_email_per_s, 1),
            "latency_ms": {"p50": round(self.p50, 1), "p95": round(self.p95, 1), "p99": round(self.p99, 1)},
            "ceiling_per_s": round(self.ceiling_per_s, 1),
            "ratio": round(self.ratio, 4),
            "events": self.events,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "events_total": self.events_total,
            "ceiling_publish_per_s": round(self.ceiling_publish_per_s, 1),
            "ws_missed": self.ws_missed,
            "server": self.server,
            "mode": self.mode,
            "elapsed_s": round(self.elapsed_s, 1),
            "cpu_ms_per_event": self.cpu_ms_per_event,
            "replicas": self.replicas,
            "nats": self.nats,
            "cpu_ms_per_stage": self.cpu_ms_per_stage,
            "postgres_per_event": self.postgres_per_event,
            "workflow": {
                "runs": self.workflow_runs,
                "runs_completed_per_s": round(self.workflow_runs_per_s, 1),
                "read_before_delay_ended": self.workflow_read,
                "emails_expected": self.workflow_emails_expected,
                "emails_sent": self.workflow_emails_sent,
                "lost": self.workflow_lost,
                "duplicated": self.workflow_duplicated,
            },
            "inbox": self.inbox,
            "latency_by_rate": self.latency_by_rate,
            "history": self.history,
        }


def _inbox_rows(inbox: dict[str, Any]) -> list[tuple[str, str]]:
    if not inbox:
        return []
    p99, listed = inbox["delivery_p99_ms"], inbox["list_ms"]
    deep = listed.get("big_deep", {}).get("p50")
    return [
        (f"large inbox: {inbox['rows']:,} rows bulk-loaded in", f"{inbox['load_s']:.1f} s"),
        (
            "  in-app latency p99, big / fresh inbox (ratio)",
            f"{p99['big']:.0f} / {p99['fresh']:.0f} ms ({inbox['delivery_p99_ratio']:.2f})",
        ),
        (
            "  GET /api/inbox p50, big / fresh (ratio)",
            f"{listed['big']['p50']:.1f} / {listed['fresh']['p50']:.1f} ms ({inbox['list_ratio']:.2f})",
        ),
        ("  GET /api/inbox p50, big, page 1,000", f"{deep:.1f} ms" if deep is not None else "-"),
    ]


POSTGRES_ROWS = (
    ("commits", "commits"),
    ("rows inserted", "rows_inserted"),
    ("rows updated", "rows_updated"),
    ("rows deleted", "rows_deleted"),
    ("database growth, bytes", "database_bytes"),
    ("WAL bytes (whole server)", "wal_bytes"),
)


def _print_phases(console: Console, figures: Figures) -> None:
    """CPU per event by stage and PostgreSQL's writes per event, one column per phase."""
    phases = list(figures.cpu_ms_per_stage)
    if not phases:
        return
    cpu = Table(title=f"CPU ms per event by stage ({figures.replicas} replica(s) each) and phase")
    cpu.add_column("stage")
    for phase in phases:
        cpu.add_column(phase, justify="right")
    stages = list(dict.fromkeys(s for phase in phases for s in figures.cpu_ms_per_stage[phase]))
    for stage in stages:
        cpu.add_row(stage, *(f"{figures.cpu_ms_per_stage[p].get(stage, 0.0):.2f}" for p in phases))
    cpu.add_row("total", *(f"{sum(figures.cpu_ms_per_stage[p].values()):.2f}" for p in phases))
    console.print(cpu)
    if not figures.postgres_per_event:
        return
    database = Table(title="PostgreSQL per event, by phase")
    database.add_column("per event")
    for phase in figures.postgres_per_event:
        database.add_column(phase, justify="right")
    for label, key in POSTGRES_ROWS:
        database.add_row(label, *(f"{values[key]:,.2f}" for values in figures.postgres_per_event.values()))
    console.print(database)


def _print_history(console: Console, history: dict[str, Any]) -> None:
    """The same phases on the fresh database and after loading the history, side by side."""
    if not history:
        return
    rows, load_s = history["rows"], history["load_s"]
    table = Table(title=f"Fresh database against {rows:,} events of history (loaded in {load_s:.0f} s)")
    for column in ("figure", "fresh", "loaded", "loaded / fresh"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for key, fresh in history["fresh"].items():
        loaded = history["loaded"].get(key, 0.0)
        table.add_row(key, f"{fresh:,.1f}", f"{loaded:,.1f}", f"{history['ratio'].get(key, 0.0):.2f}")
    console.print(table)


def print_report(console: Console, figures: Figures) -> None:
    table = Table(title=f"Relay benchmark ({figures.server}; {figures.mode})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        (f"accepted/s, single POSTs, {figures.concurrency} clients", f"{figures.accepted_per_s:,.0f}"),
        ("accepted/s, batch endpoint", f"{figures.accepted_batch_per_s:,.0f}"),
        ("delivered/s end to end, in-app", f"{figures.delivered_inapp_per_s:,.0f}"),
        ("delivered/s end to end, email (SMTP sink)", f"{figures.delivered_email_per_s:,.0f}"),
        *(
            (
                f"latency POST -> WebSocket at {rate}/s, p50 / p95 / p99 (CPU per event)",
                f"{v['p50']:.0f} / {v['p95']:.0f} / {v['p99']:.0f} ms ({v['cpu_ms_per_event']:.1f} ms)",
            )
            for rate, v in figures.latency_by_rate.items()
        ),
        ("ceiling: raw JetStream publish (async, acked)", f"{figures.ceiling_publish_per_s:,.0f}"),
        ("ceiling: publish + 3 hops + consume", f"{figures.ceiling_per_s:,.0f}"),
        ("ratio in-app delivered/s / ceiling", f"{figures.ratio:.1%}"),
        ("events per phase / in total", f"{figures.events:,} / {figures.events_total:,}"),
        (
            f"workflow runs completed/s (recipe a, {figures.workflow_runs:,} runs)",
            f"{figures.workflow_runs_per_s:,.0f}",
        ),
        (
            "workflow emails sent / expected (unread after the delay)",
            f"{figures.workflow_emails_sent:,} / {figures.workflow_emails_expected:,}",
        ),
        ("workflow lost / duplicated", f"{figures.workflow_lost} / {figures.workflow_duplicated}"),
        ("lost / duplicated (all phases)", f"{figures.lost} / {figures.duplicated}"),
        ("WebSocket frames missed (delivered, push not seen)", str(figures.ws_missed)),
    ]
    rows += _inbox_rows(figures.inbox)
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    if figures.cpu_ms_per_event:
        cpu = Table(title=f"CPU per event in the latency phase ({figures.rate:g}/s)")
        cpu.add_column("process")
        cpu.add_column("ms", justify="right")
        for label, ms in figures.cpu_ms_per_event.items():
            cpu.add_row(label, f"{ms:.2f}")
        cpu.add_row("total", f"{sum(figures.cpu_ms_per_event.values()):.2f}")
        console.print(cpu)
    _print_phases(console, figures)
    _print_history(console, figures.history)
    for note in figures.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    # The contract: the last line of output is this JSON object.
    print(orjson.dumps(figures.as_json()).decode(), flush=True)
