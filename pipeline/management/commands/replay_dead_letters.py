from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from core.channel_names import channel_names
from pipeline import dlq


class Command(BaseCommand):
    help = "Replay open dead letters (all, or those matching the filters) into the pipeline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", choices=channel_names())
        parser.add_argument("--reason", help="Only dead letters whose reason contains this text.")
        parser.add_argument("--since-hours", type=float, help="Only dead letters created this recently.")
        parser.add_argument(
            "--id", type=int, action="append", dest="ids", help="A dead letter id (repeatable)."
        )
        parser.add_argument("--discard", action="store_true", help="Discard the matching ones instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        since = timezone.now() - timedelta(hours=options["since_hours"]) if options["since_hours"] else None
        rows = dlq.open_dead_letters(options["channel"], options["reason"], since, options["ids"])
        if options["discard"]:
            self.stdout.write(f"discarded={dlq.discard(rows)}")
            return
        report = dlq.replay(rows)
        self.stdout.write(
            f"replayed={report.replayed} already_done={report.already_done} unpublished={report.unpublished}"
        )
        if report.unpublished:
            raise SystemExit(1)
