"""One benchmark run, phase by phase: set up, load, drain, measure latency, measure the ceiling."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import uvloop
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import cpu, load, pgstats
from bench.environment import BenchEnvironment, prepare
from bench.http_clients import make_client
from bench.options import Options
from bench.processes import Pipeline, stage_of
from bench.report import Figures, print_report
from bench.smtp_counter import SmtpCounter

if TYPE_CHECKING:  # imports the models, which need Django set up first
    from bench.counting import Accounting

T = TypeVar("T")
POLL_SECONDS = 0.5


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _phase(
    progress: Progress, label: str, total: int, work: Callable[[Callable[[int], None]], Awaitable[T]]
) -> T:
    task = progress.add_task(label, total=total)

    def advance(n: int) -> None:
        progress.advance(task, n)

    return uvloop.run(work(advance))


def _setup_django(env: BenchEnvironment) -> str:
    """Point this process's Django at the run's database, migrate it, create streams and a key."""
    os.environ.update(env.child_env)
    os.environ["LOG_LEVEL"] = "ERROR"  # this process's own logs (httpx, nats) would drown the report
    import django

    django.setup()
    from django.core.management import call_command

    from core import nats_client
    from core.names import Names
    from notifications.models import ApiKey
    from pipeline import jetstream

    call_command("migrate", verbosity=0, interactive=False)

    async def streams() -> None:
        nc = await nats_client.connect("relay-bench-setup", servers=env.nats_servers)
        await jetstream.setup_streams(nc.jetstream(), Names(env.nats_prefix))
        await nc.close()

    asyncio.run(streams())
    return ApiKey.issue("bench")[1]


def _delete_streams(env: BenchEnvironment) -> None:
    from core import nats_client
    from core.names import Names
    from pipeline import jetstream

    async def delete() -> None:
        nc = await nats_client.connect(
            "relay-bench-teardown", servers=env.nats_servers, max_reconnect_attempts=1
        )
        await jetstream.delete_streams(nc.jetstream(), Names(env.nats_prefix))
        await nc.close()

    asyncio.run(delete())


Usage = tuple[cpu.Snapshot, dict[str, float]]


def _bench_backend() -> int:
    """The PostgreSQL backend serving this process's queries (its drains poll the database)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0
    connection.ensure_connection()
    return int(connection.connection.info.backend_pid)


def _usage(env: BenchEnvironment, pipeline: Pipeline, options: Options, *, cpu_first: bool) -> Usage:
    """CPU per process and, with ``--db-stats``, PostgreSQL's counters now. The counters wait
    for the statistics to reach the server, so that wait is kept out of the CPU window: taken
    after the CPU at the end of a phase, before it at the start."""
    roots = {**pipeline.pids(), **env.nats_pids()}

    def processes() -> cpu.Snapshot:
        return cpu.snapshot(
            roots,
            database=env.database_name,
            own_nats=bool(env.nats_pids()),
            bench_backend=_bench_backend(),
        )

    def database() -> dict[str, float]:
        return pgstats.snapshot(env.database_url) if options.db_stats else {}

    if cpu_first:
        used = processes()
        return used, database()
    counters = database()
    return processes(), counters


def _per_event(before: Usage, after: Usage, events: int) -> tuple[dict[str, float], dict[str, float]]:
    """(CPU ms per event per process, PostgreSQL's writes per event) between two usages."""
    return cpu.per_event_ms(before[0], after[0], events), pgstats.per_event(before[1], after[1], events)


def _drain(
    progress: Progress,
    label: str,
    expected: int,
    count: Callable[[], int],
    timeout: float,
    pipeline: Pipeline,
) -> None:
    """Wait until ``count()`` reaches ``expected`` (everything arrived) or the timeout passes."""
    task = progress.add_task(label, total=expected)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pipeline.check_alive()
        done = count()
        progress.update(task, completed=done)
        if done >= expected:
            return
        time.sleep(POLL_SECONDS)


def execute(options: Options, console: Console) -> Figures:
    started = time.perf_counter()
    figures = Figures(
        rate=options.rate, concurrency=options.concurrency, server=options.server, replicas=options.replicas
    )
    if options.server == "uvicorn" and options.workers > 1:
        figures.server = f"uvicorn x{options.workers}"
    env = prepare(options.cluster, options.sync_interval)
    figures.mode = env.mode
    figures.nats = {
        "nodes": max(1, len(env.nats_servers)),
        "stream_replicas": env.stream_replicas,
        "sync_interval": env.sync_interval or "default",
        "started_by_bench": bool(env.nats_pids()),
    }
    sink = SmtpCounter(env.smtp_port)
    pipeline = Pipeline(env, options)
    try:
        console.print(f"[bold]Relay benchmark[/bold] run {env.run_id}: {env.mode}; setting up")
        api_key = _setup_django(env)
        sink.start()
        pipeline.start()
        with _progress(console) as progress:
            _measure(options, env, figures, pipeline, sink, api_key, progress)
    except BaseException:
        console.print("[red]run failed; the pipeline's last log lines:[/red]")
        console.print(pipeline.logs(), markup=False, highlight=False)
        raise
    else:
        figures.elapsed_s = time.perf_counter() - started
        return figures
    finally:
        from django.db import connections

        connections.close_all()
        pipeline.stop()
        sink.stop()
        try:
            _delete_streams(env)
        finally:
            env.close()


@dataclass
class Bench:
    """What every phase uses: the run's options and world, its pipeline and sink, its HTTP
    client factory and progress bars, and the subscribers the events go to."""

    options: Options
    env: BenchEnvironment
    pipeline: Pipeline
    sink: SmtpCounter
    progress: Progress
    http: Callable[[], Any]
    users: list[str] = field(default_factory=list)

    def usage(self, *, cpu_first: bool) -> Usage:
        return _usage(self.env, self.pipeline, self.options, cpu_first=cpu_first)

    def drain(self, label: str, expected: int, count: Callable[[], int], timeout: float = 0.0) -> None:
        _drain(self.progress, label, expected, count, timeout or self.options.drain_timeout, self.pipeline)


def _measure(
    options: Options,
    env: BenchEnvironment,
    figures: Figures,
    pipeline: Pipeline,
    sink: SmtpCounter,
    api_key: str,
    progress: Progress,
) -> None:
    from bench import workflow_phase
    from bench.ceiling import measure_ceiling
    from bench.counting import Accounting

    base, c = pipeline.base_url, options.concurrency

    def http() -> Any:
        return make_client(options.client, base, api_key, c)

    bench = Bench(options, env, pipeline, sink, progress, http)

    async def subscribers(advance: Callable[[int], None]) -> list[str]:
        async with http() as client:
            return await load.create_subscribers(client, options.subscribers, c, advance)

    bench.users = _phase(progress, "subscribers (PUT)", options.subscribers, subscribers)
    workflow_phase.publish_workflow()
    accounting = Accounting()

    # 1-4. single POSTs, batches, workflows, latency at each rate: on the fresh database, and
    # with --history again after loading the history, both reported.
    _measured_phases(bench, figures, accounting, "")
    if options.history:
        _history(bench, figures, accounting)

    # 5. the ceiling, with the pipeline idle: same message size, same number of hops.
    task = progress.add_task("ceiling: raw JetStream", total=1)
    from notifications.services import event_message

    # What the API publishes for one event of the batch phase.
    size = len(
        event_message(load.event_bodies(f"b{env.run_id}", 1, bench.users, ["in_app", "email"])[0], "0" * 64)
    )
    messages = max(options.events, 2000 if options.quick else 5000)
    ceiling = measure_ceiling(env.nats_servers, f"{env.nats_prefix}c.", messages, size, env.stream_replicas)
    progress.update(task, completed=1)
    figures.ceiling_per_s, figures.ceiling_publish_per_s = ceiling.end_to_end_per_s, ceiling.publish_per_s

    # 6. a subscriber with a huge inbox against a fresh one, side by side.
    _inbox_phase(bench, figures, accounting)

    # 7. accepted versus arrived.
    figures.lost, figures.duplicated = accounting.settled()
    figures.events_total = accounting.offered
    if accounting.rejected:
        figures.notes.append(
            f"{accounting.rejected} events were not accepted by the API (counted neither lost nor sent)"
        )


def _history(bench: Bench, figures: Figures, accounting: Accounting) -> None:
    """Bulk-load ``--history`` events with their deliveries and inbox rows, then the same
    phases again; ``figures.history`` compares the two rounds."""
    from django.db import connection

    from bench.inbox_loader import load_history

    rows = bench.options.history
    task = bench.progress.add_task(f"history: bulk-load {rows:,} events", total=1)
    loaded = load_history(rows, f"h{bench.env.run_id}")
    # A backend may hold its statistics back for a while; closing it sends the load's (millions
    # of rows fetched by its foreign-key checks and the counters' repair) now, so that they do
    # not land in the next phase's --db-stats window.
    connection.close()
    bench.progress.update(task, completed=1)
    again = Figures(rate=figures.rate, replicas=figures.replicas)
    _measured_phases(bench, again, accounting, "h")
    figures.add_history(loaded.rows, loaded.seconds, again)


def _measured_phases(bench: Bench, figures: Figures, accounting: Accounting, tag: str) -> None:
    """Single POSTs, batches, workflows and latency at each rate, each drained before the
    next so that phases do not mix; eventIds carry ``tag`` so that a second round's are its own."""
    run, after = f"{tag}{bench.env.run_id}", " (after history)" if tag else ""
    _single_phase(bench, figures, accounting, f"s{run}", after)
    _batch_phase(bench, figures, accounting, f"b{run}", after)
    _workflow_phase(bench, figures, accounting, f"w{run}", after)
    for index, rate in enumerate(bench.options.rates):
        _latency_phase(bench, figures, accounting, f"l{index}{run}", rate, after)
    figures.events = bench.options.events


def _single_phase(bench: Bench, figures: Figures, accounting: Accounting, prefix: str, after: str) -> None:
    """Single-event POSTs from ``--concurrency`` clients, in-app only."""
    from bench.counting import delivered_count, in_app_tally

    n, c = bench.options.events, bench.options.concurrency
    bodies = load.event_bodies(prefix, n, bench.users, ["in_app"])

    async def single(advance: Callable[[int], None]) -> load.PhaseResult:
        async with bench.http() as client:
            return await load.post_single(client, bodies, c, advance)

    usage = bench.usage(cpu_first=False)
    result = _phase(bench.progress, f"POST /api/events x{c}{after}", n, single)
    figures.accepted_per_s = result.per_second
    bench.drain("  delivered in-app", len(result.accepted), lambda: delivered_count(prefix, "in_app"))
    figures.record_phase("single", *_per_event(usage, bench.usage(cpu_first=True), n), stage_of)
    accounting.add_in_app(result.accepted, in_app_tally(prefix), n)


def _batch_phase(bench: Bench, figures: Figures, accounting: Accounting, prefix: str, after: str) -> None:
    """Batch POSTs to in-app and email: the end-to-end delivery phase."""
    from bench.counting import delivered_count, in_app_tally

    options, n = bench.options, bench.options.events
    bodies = load.event_bodies(prefix, n, bench.users, ["in_app", "email"])

    async def batches(advance: Callable[[int], None]) -> load.PhaseResult:
        async with bench.http() as client:
            return await load.post_batches(
                client, bodies, options.batch_size, min(options.concurrency, 4), advance
            )

    def emails() -> dict[str, int]:
        return {k: v for k, v in bench.sink.counts().per_event.items() if k.startswith(f"{prefix}-")}

    usage = bench.usage(cpu_first=False)
    result = _phase(bench.progress, f"POST /api/events/batch ({options.batch_size}){after}", n, batches)
    figures.accepted_batch_per_s = result.per_second
    bench.drain(
        "  delivered in-app + email",
        2 * len(result.accepted),
        lambda: delivered_count(prefix, "in_app") + len(emails()),
    )
    figures.record_phase("batch", *_per_event(usage, bench.usage(cpu_first=True), n), stage_of)
    tally = in_app_tally(prefix)
    email, last_email_at = emails(), bench.sink.counts().last_at  # the batch's emails are the last ones
    if tally.last_sent_at:
        figures.delivered_inapp_per_s = sum(tally.per_event.values()) / max(
            tally.last_sent_at - result.started_at, 1e-9
        )
    if email:
        figures.delivered_email_per_s = len(email) / max(last_email_at - result.started_at, 1e-9)
    accounting.add_in_app(result.accepted, tally, n)
    accounting.add_email(result.accepted, email)


def _latency_phase(
    bench: Bench, figures: Figures, accounting: Accounting, prefix: str, rate: float, after: str
) -> None:
    """POST-to-WebSocket latency at one offered rate, and the CPU each event cost there."""
    from bench.counting import delivered_count, in_app_tally
    from bench.latency import measure_latency

    options = bench.options
    ws_users = bench.users[: max(1, min(options.ws_clients, len(bench.users)))]
    offered = max(1, round(rate * options.latency_seconds))

    async def latency(advance: Callable[[int], None]) -> Any:
        async with bench.http() as client:
            return await measure_latency(
                client,
                bench.pipeline.base_url.replace("http://", "ws://"),
                ws_users,
                prefix,
                rate,
                options.latency_seconds,
                advance,
                options.concurrency,
            )

    usage = bench.usage(cpu_first=False)
    result = _phase(bench.progress, f"latency at {rate:g}/s{after}", offered, latency)
    cpu_ms, database = _per_event(usage, bench.usage(cpu_first=True), offered)
    bench.drain("  delivered in-app", len(result.accepted), lambda: delivered_count(prefix, "in_app"))
    figures.record_latency(rate, result.latencies_ms, cpu_ms)
    figures.record_phase(f"latency {rate:g}/s", cpu_ms, database, stage_of)
    figures.ws_missed += result.missed
    accounting.add_in_app(result.accepted, in_app_tally(prefix), offered, result.duplicated)


def _workflow_phase(bench: Bench, figures: Figures, accounting: Accounting, prefix: str, after: str) -> None:
    """Runs completed per second, and the emails the runs owed against those the sink got."""
    from bench import workflow_phase as phase

    bodies = phase.bodies(prefix, bench.options.workflow_runs, bench.users)

    async def post_and_read(advance: Callable[[int], None]) -> phase.WorkflowResult:
        async with bench.http() as client:
            return await phase.post_and_read(client, bodies, bench.options.batch_size, 4, advance)

    label = f"workflow runs ({phase.DELAY_SECONDS} s delay, half read){after}"
    usage = bench.usage(cpu_first=False)
    posted = _phase(bench.progress, label, len(bodies), post_and_read)
    accepted = len(posted.posted.accepted)
    bench.drain("  runs completed", accepted, lambda: phase.settled_runs(prefix))
    owed = phase.owed_emails(prefix)

    def emails() -> dict[str, int]:
        return {k: v for k, v in bench.sink.counts().per_event.items() if k.startswith(f"{prefix}-")}

    bench.drain("  emails (unread ones)", len(owed.emailed), lambda: len(emails()), 30.0)
    # Per run: its in-app message, the read of half of them, the wake-up, the email of the rest.
    per_run = _per_event(usage, bench.usage(cpu_first=True), len(bodies))
    figures.record_phase("workflow", *per_run, stage_of)
    sent = emails()
    figures.workflow_runs = accepted
    figures.workflow_read = len(owed.not_emailed)
    if owed.last_completed_at:
        figures.workflow_runs_per_s = owed.completed / max(
            owed.last_completed_at - posted.posted.started_at, 1e-9
        )
    figures.workflow_emails_expected = len(owed.emailed)
    figures.workflow_emails_sent = sum(sent.values())
    lost = accepted - owed.completed + sum(1 for event_id in owed.emailed if not sent.get(event_id))
    duplicated = sum(n - 1 for n in sent.values() if n > 1) + sum(1 for e in owed.not_emailed if e in sent)
    figures.workflow_lost, figures.workflow_duplicated = lost, duplicated
    accounting.add_counted(len(bodies), lost, duplicated)
    if len(owed.not_emailed) < len(posted.to_read):
        figures.notes.append(
            f"workflow phase{after}: {len(posted.to_read) - len(owed.not_emailed)} of "
            f"{len(posted.to_read)} reads came after the {phase.DELAY_SECONDS} s delay ended "
            "(those runs owed an email)"
        )


def _inbox_phase(bench: Bench, figures: Figures, accounting: Accounting) -> None:
    """In-app latency and listing time of a subscriber with ``--inbox-rows`` messages against
    a fresh one's."""
    options = bench.options
    if not options.inbox_rows:
        return
    from bench import inbox_phase as phase
    from bench.counting import in_app_tally

    run = bench.env.run_id
    prefix = f"i{run}"
    users = {"big": f"bench-inbox-big-{run}", "fresh": f"bench-inbox-fresh-{run}"}
    task = bench.progress.add_task(f"inbox: bulk-load {options.inbox_rows:,} rows", total=1)
    load_s = phase.load(options.inbox_rows, (users["big"], users["fresh"]), prefix)
    bench.progress.update(task, completed=1)
    offered = 2 * max(1, round(options.rate / 2 * options.latency_seconds))
    requests = 50 if options.quick else 200

    async def measure(advance: Callable[[int], None]) -> phase.InboxPhase:
        async with bench.http() as client:
            ws_base = bench.pipeline.base_url.replace("http://", "ws://")
            return await phase.measure(
                client, ws_base, users, prefix, options.rate, options.latency_seconds, requests, advance
            )

    result = _phase(bench.progress, "inbox: big vs fresh, latency + GET", offered, measure)
    result.rows, result.load_s = options.inbox_rows, load_s
    figures.inbox = result.as_json()
    for who, latency in result.latency.items():
        figures.ws_missed += latency.missed
        tally = in_app_tally(f"{prefix}-{who}-l")
        accounting.add_in_app(latency.accepted, tally, latency.offered, latency.duplicated)


def main_run(options: Options) -> Figures:
    console = Console()
    figures = execute(options, console)
    print_report(console, figures)
    return figures
