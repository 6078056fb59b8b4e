"""One benchmark run, phase by phase: set up, load, drain, measure latency, measure the ceiling."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

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


def _measure(
    options: Options,
    env: BenchEnvironment,
    figures: Figures,
    pipeline: Pipeline,
    sink: SmtpCounter,
    api_key: str,
    progress: Progress,
) -> None:
    from bench.ceiling import measure_ceiling
    from bench.counting import delivered_count, in_app_tally, lost_and_duplicated
    from bench.latency import measure_latency, percentile

    base, n, c = pipeline.base_url, options.events, options.concurrency
    run = env.run_id

    def http() -> Any:
        return make_client(options.client, base, api_key, c)

    async def subscribers(advance: Callable[[int], None]) -> list[str]:
        async with http() as client:
            return await load.create_subscribers(client, options.subscribers, c, advance)

    users = _phase(progress, "subscribers (PUT)", options.subscribers, subscribers)

    # 1. single-event POSTs, in-app only; drained before the next phase so phases do not mix.
    single_prefix = f"s{run}"
    single_bodies = load.event_bodies(single_prefix, n, users, ["in_app"])

    async def single(advance: Callable[[int], None]) -> load.PhaseResult:
        async with http() as client:
            return await load.post_single(client, single_bodies, c, advance)

    usage = _usage(env, pipeline, options, cpu_first=False)
    single_result = _phase(progress, f"POST /api/events x{c}", n, single)
    figures.accepted_per_s = single_result.per_second
    _drain(
        progress,
        "  delivered in-app",
        len(single_result.accepted),
        lambda: delivered_count(single_prefix, "in_app"),
        options.drain_timeout,
        pipeline,
    )
    figures.record_phase(
        "single", *_per_event(usage, _usage(env, pipeline, options, cpu_first=True), n), stage_of
    )

    # 2. batch POSTs to in-app and email: the end-to-end delivery phase.
    batch_prefix = f"b{run}"
    batch_bodies = load.event_bodies(batch_prefix, n, users, ["in_app", "email"])

    async def batches(advance: Callable[[int], None]) -> load.PhaseResult:
        async with http() as client:
            return await load.post_batches(client, batch_bodies, options.batch_size, min(c, 4), advance)

    usage = _usage(env, pipeline, options, cpu_first=False)
    batch_result = _phase(progress, f"POST /api/events/batch ({options.batch_size})", n, batches)
    figures.accepted_batch_per_s = batch_result.per_second
    expected = len(batch_result.accepted)
    _drain(
        progress,
        "  delivered in-app + email",
        2 * expected,
        lambda: delivered_count(batch_prefix, "in_app") + len(sink.counts().per_event),
        options.drain_timeout,
        pipeline,
    )
    figures.record_phase(
        "batch", *_per_event(usage, _usage(env, pipeline, options, cpu_first=True), n), stage_of
    )
    single_tally, batch_tally = in_app_tally(single_prefix), in_app_tally(batch_prefix)
    email = sink.counts()
    if batch_tally.last_sent_at:
        figures.delivered_inapp_per_s = sum(batch_tally.per_event.values()) / max(
            batch_tally.last_sent_at - batch_result.started_at, 1e-9
        )
    if email.last_at:
        figures.delivered_email_per_s = len(email.per_event) / max(
            email.last_at - batch_result.started_at, 1e-9
        )

    # 3. workflows: recipe (a) with a 1 s delay, every other in-app message read before it ends.
    _workflow_phase(options, env, figures, pipeline, sink, users, http, progress)

    # 4. latency at a fixed offered rate, seen by real WebSocket clients.
    latency_prefix = f"l{run}"
    ws_users = users[: max(1, min(options.ws_clients, len(users)))]
    offered = max(1, round(options.rate * options.latency_seconds))

    async def latency(advance: Callable[[int], None]) -> Any:
        async with http() as client:
            return await measure_latency(
                client,
                base.replace("http://", "ws://"),
                ws_users,
                latency_prefix,
                options.rate,
                options.latency_seconds,
                advance,
                c,
            )

    usage = _usage(env, pipeline, options, cpu_first=False)
    latency_result = _phase(progress, f"latency at {options.rate:g}/s", offered, latency)
    latency_cpu, latency_database = _per_event(usage, _usage(env, pipeline, options, cpu_first=True), offered)
    figures.cpu_ms_per_event = latency_cpu
    figures.record_phase("latency", latency_cpu, latency_database, stage_of)
    figures.p50, figures.p95, figures.p99 = (percentile(latency_result.latencies_ms, p) for p in (50, 95, 99))
    figures.ws_missed = latency_result.missed
    latency_tally = in_app_tally(latency_prefix)

    # 5. the ceiling, with the pipeline idle: same message size, same number of hops.
    task = progress.add_task("ceiling: raw JetStream", total=1)
    from notifications.services import event_message

    size = len(event_message(batch_bodies[0], "0" * 64))  # what the API publishes for one event
    messages = max(n, 2000 if options.quick else 5000)
    ceiling = measure_ceiling(env.nats_servers, f"{env.nats_prefix}c.", messages, size, env.stream_replicas)
    progress.update(task, completed=1)
    figures.ceiling_per_s, figures.ceiling_publish_per_s = ceiling.end_to_end_per_s, ceiling.publish_per_s

    # 6. a subscriber with a huge inbox against a fresh one, side by side.
    inbox_tallies = _inbox_phase(options, env, figures, http, base, progress)

    # 7. accepted versus arrived.
    email_per_event = Counter({k: v for k, v in email.per_event.items() if k.startswith(f"{batch_prefix}-")})
    tallies = [
        (single_result.accepted, single_tally.per_event),
        (batch_result.accepted, batch_tally.per_event),
        (batch_result.accepted, email_per_event),
        (latency_result.accepted, latency_tally.per_event),
        *((accepted, tally.per_event) for accepted, tally in inbox_tallies),
    ]
    for accepted, per_event in tallies:
        lost, duplicated = lost_and_duplicated(accepted, per_event)
        figures.lost += lost
        figures.duplicated += duplicated
    figures.duplicated += latency_result.duplicated
    for tally in (single_tally, batch_tally, latency_tally, *(tally for _, tally in inbox_tallies)):
        figures.duplicated += max(0, tally.inbox_rows - sum(tally.per_event.values()))
    figures.events = n
    figures.events_total = 2 * n + offered + figures.workflow_runs + sum(len(a) for a, _ in inbox_tallies)
    rejected = single_result.rejected + batch_result.rejected + (offered - len(latency_result.accepted))
    if rejected:
        figures.notes.append(
            f"{rejected} events were not accepted by the API (counted neither lost nor sent)"
        )


def _workflow_phase(
    options: Options,
    env: BenchEnvironment,
    figures: Figures,
    pipeline: Pipeline,
    sink: SmtpCounter,
    users: list[str],
    http: Callable[[], Any],
    progress: Progress,
) -> None:
    """Runs completed per second, and the emails the runs owed against those the sink got."""
    from bench import workflow_phase as phase

    prefix = f"w{env.run_id}"
    bodies = phase.bodies(prefix, options.workflow_runs, users)
    phase.publish_workflow()

    async def post_and_read(advance: Callable[[int], None]) -> phase.WorkflowResult:
        async with http() as client:
            return await phase.post_and_read(client, bodies, options.batch_size, 4, advance)

    label = f"workflow runs ({phase.DELAY_SECONDS} s delay, half read)"
    usage = _usage(env, pipeline, options, cpu_first=False)
    posted = _phase(progress, label, len(bodies), post_and_read)
    accepted = len(posted.posted.accepted)
    _drain(
        progress,
        "  runs completed",
        accepted,
        lambda: phase.settled_runs(prefix),
        options.drain_timeout,
        pipeline,
    )
    owed = phase.owed_emails(prefix)

    def emails() -> dict[str, int]:
        return {k: v for k, v in sink.counts().per_event.items() if k.startswith(f"{prefix}-")}

    _drain(progress, "  emails (unread ones)", len(owed.emailed), lambda: len(emails()), 30.0, pipeline)
    # Per run: its in-app message, the read of half of them, the wake-up, the email of the rest.
    per_run = _per_event(usage, _usage(env, pipeline, options, cpu_first=True), len(bodies))
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
    figures.lost += lost
    figures.duplicated += duplicated
    if len(owed.not_emailed) < len(posted.to_read):
        figures.notes.append(
            f"workflow phase: {len(posted.to_read) - len(owed.not_emailed)} of {len(posted.to_read)} "
            f"reads came after the {phase.DELAY_SECONDS} s delay ended (those runs owed an email)"
        )


def _inbox_phase(
    options: Options,
    env: BenchEnvironment,
    figures: Figures,
    http: Callable[[], Any],
    base: str,
    progress: Progress,
) -> list[tuple[list[str], Any]]:
    """In-app latency and listing time of a subscriber with ``--inbox-rows`` messages against
    a fresh one's; returns each side's (accepted eventIds, in-app tally) for the accounting."""
    if not options.inbox_rows:
        return []
    from bench import inbox_phase as phase
    from bench.counting import in_app_tally

    prefix = f"i{env.run_id}"
    users = {"big": f"bench-inbox-big-{env.run_id}", "fresh": f"bench-inbox-fresh-{env.run_id}"}
    task = progress.add_task(f"inbox: bulk-load {options.inbox_rows:,} rows", total=1)
    load_s = phase.load(options.inbox_rows, (users["big"], users["fresh"]), prefix)
    progress.update(task, completed=1)
    offered = 2 * max(1, round(options.rate / 2 * options.latency_seconds))
    requests = 50 if options.quick else 200

    async def measure(advance: Callable[[int], None]) -> phase.InboxPhase:
        async with http() as client:
            ws_base = base.replace("http://", "ws://")
            return await phase.measure(
                client, ws_base, users, prefix, options.rate, options.latency_seconds, requests, advance
            )

    result = _phase(progress, "inbox: big vs fresh, latency + GET", offered, measure)
    result.rows, result.load_s = options.inbox_rows, load_s
    figures.inbox = result.as_json()
    figures.duplicated += sum(r.duplicated for r in result.latency.values())
    figures.ws_missed += sum(r.missed for r in result.latency.values())
    return [(r.accepted, in_app_tally(f"{prefix}-{who}-l")) for who, r in result.latency.items()]


def main_run(options: Options) -> Figures:
    console = Console()
    figures = execute(options, console)
    print_report(console, figures)
    return figures
