import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.channel_names import channel_names
from core.metrics import serve_metrics
from core.names import names
from pipeline import event_loop
from pipeline.runner import run_stages, stage_spec


class Command(BaseCommand):
    help = "Run one pipeline stage: ingest, route, workflow, webhooks, or deliver --channel <channel>."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stage", choices=["ingest", "route", "workflow", "webhooks", "deliver"])
        parser.add_argument("--channel", choices=channel_names())
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=int(os.environ.get("METRICS_PORT", "0")),
            help="Serve this process's Prometheus metrics on this port (default: $METRICS_PORT; 0: off).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stage"] == "deliver" and not options["channel"]:
            self.stderr.write("deliver needs --channel (email, sms, push or in_app)")
            raise SystemExit(2)
        if options["metrics_port"]:
            serve_metrics(options["metrics_port"])
        event_loop.run(run_stages([stage_spec(options["stage"], names(), options["channel"])]))
