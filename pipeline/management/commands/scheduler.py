from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from pipeline import event_loop
from pipeline.scheduler import serve_scheduler


class Command(BaseCommand):
    help = (
        "Publish deferred and scheduled deliveries when due; expire overdue ones; wake workflow waits "
        "and snoozed inbox messages; delete inbox messages past retention. Safe to run many."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Stop as soon as nothing is due.")
        parser.add_argument("--batch", type=int, default=None, help="Rows claimed per pass.")

    def handle(self, *args: Any, **options: Any) -> None:
        totals = event_loop.run(serve_scheduler(once=options["once"], batch=options["batch"]))
        self.stdout.write(
            f"published={totals.published} expired={totals.expired} redispatched={totals.redispatched} "
            f"woken={totals.woken} resurfaced={totals.resurfaced} purged={totals.purged}"
        )
