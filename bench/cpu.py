"""CPU time per process over a phase, from /proc: where an event's CPU goes, not just how long.

Wall-clock figures on a shared two-core machine move with everything else running on it; the
CPU each process spends per event does not. ``CpuMeter`` snapshots user+system time of the
pipeline's processes (with their child processes, e.g. uvicorn workers), of the bench process
itself (the load generator and WebSocket clients) and of the services by process name, and
turns two snapshots into milliseconds per event. Linux only; elsewhere it reports nothing.

The services are shared with whatever else runs on the machine (other test suites, other
databases), so what can be told apart is: PostgreSQL backends count only when they serve the
run's own database (``postgresql``); the server's background processes (WAL writer,
checkpointer, ...) serve every database and are reported apart (``postgresql background``);
NATS servers the run started itself are counted by pid, not every ``nats-server`` by name.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path

PROC = Path("/proc")
SERVICES = {"postgres": "postgresql", "redis-server": "redis", "nats-server": "nats"}
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds) of one process, or None if it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # After the name: state(0) ppid(1) ... utime(11) stime(12).
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


BENCH_QUERIES = "postgresql (bench's own queries)"


def _postgres_label(pid: int, database: str, bench_backend: int) -> str | None:
    """Which PostgreSQL process this is: the run's backend, background work, or someone else's.

    A backend's title is ``postgres: <cluster>: <user> <database> <client>(<port>) <state>``;
    a background process has no client address.
    """
    if pid == bench_backend:
        return BENCH_QUERIES  # the load generator's polling ("delivered yet?"), not the pipeline's
    if not database:
        return "postgresql"
    title = _cmdline(pid)
    if f" {database} " in f"{title} ":
        return "postgresql"
    if "(" in title or "[local]" in title:
        return None  # a backend of another database
    return "postgresql background"


def _all_processes() -> dict[int, tuple[str, int, float]]:
    found = {}
    for entry in PROC.iterdir() if PROC.exists() else ():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            found[int(entry.name)] = stat
    return found


Snapshot = dict[tuple[str, int], float]  # (label, pid) -> CPU seconds so far


def snapshot(
    roots: Mapping[str, int], database: str = "", own_nats: bool = False, bench_backend: int = 0
) -> Snapshot:
    """CPU seconds so far of each process, labelled: each root with its descendants, the
    services, the bench itself.

    ``database`` restricts PostgreSQL backends to that database's; with ``own_nats`` the NATS
    servers are among ``roots`` and no other ``nats-server`` is counted; ``bench_backend`` is the
    PostgreSQL backend of this process's own connection, reported apart. Kept per process, not
    per label, because processes come and go within a phase (a Django connection lives 60 s,
    so its backend is replaced): a label's sum would drop when one exits.
    """
    processes = _all_processes()
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (_, ppid, _) in processes.items():
        children[ppid].append(pid)
    found: Snapshot = {}
    claimed: set[int] = set()
    for label, root in roots.items():
        stack = [root]
        while stack:
            pid = stack.pop()
            if pid in processes and pid not in claimed:
                claimed.add(pid)
                found[label, pid] = processes[pid][2]
                stack.extend(children[pid])
    for pid, (name, _, seconds) in processes.items():
        service = SERVICES.get(name)
        if service == "nats" and own_nats:
            continue
        if service == "postgresql" or (service is None and name.startswith("postgres")):
            # backends are renamed "postgres: user db ..." on some systems
            service = _postgres_label(pid, database, bench_backend)
        if service is not None and pid not in claimed:
            found[service, pid] = seconds
    times = os.times()
    found["bench (load + sockets)", os.getpid()] = times.user + times.system
    return found


def per_event_ms(before: Snapshot, after: Snapshot, events: int) -> dict[str, float]:
    """Milliseconds of CPU per event per label between two snapshots, largest first.

    A process born in between counts from zero; one that exited in between is not seen
    (its last moments are missed: the figure is a floor for labels whose processes churn).
    """
    if events <= 0:
        return {}
    spent: dict[str, float] = defaultdict(float)
    for (label, pid), seconds in after.items():
        spent[label] += seconds - before.get((label, pid), 0.0)
    return {
        label: round(1000 * seconds / events, 2)
        for label, seconds in sorted(spent.items(), key=lambda item: -item[1])
        if seconds > 0
    }


def by_stage(per_process: Mapping[str, float], stage_of: Callable[[str], str]) -> dict[str, float]:
    """Per-process milliseconds summed over the replicas of each stage (``ingest#2`` → ``ingest``)."""
    totals: dict[str, float] = defaultdict(float)
    for label, ms in per_process.items():
        totals[stage_of(label)] += ms
    return {label: round(ms, 2) for label, ms in sorted(totals.items(), key=lambda item: -item[1])}
