import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from pipeline import event_loop
from pipeline.serve import serve_all


class Command(BaseCommand):
    help = "Serve HTTP + WebSocket and run every pipeline stage in this one process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-http", action="store_true", help="Run the stages only.")

    def handle(self, *args: Any, **options: Any) -> None:
        event_loop.run(serve_all(options["host"], options["port"], with_http=not options["no_http"]))
