from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.models import Subscriber
from realtime import counters


class Command(BaseCommand):
    help = (
        "Recompute the inbox counters from the messages, fix any that drifted and report them "
        "(one line per drifted counter; exit status 0 either way). Safe while the service runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_ids", nargs="*", help="Subscribers' userIds (default: every subscriber).")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = None
        if options["user_ids"]:
            found = dict(
                Subscriber.objects.filter(user_id__in=options["user_ids"]).values_list("user_id", "pk")
            )
            if missing := sorted(set(options["user_ids"]) - set(found)):
                self.stderr.write(f"unknown userIds: {', '.join(missing)}")
                raise SystemExit(2)
            ids = sorted(found.values())
        report = counters.repair(ids)
        for drift in report.drift:
            self.stdout.write(
                f"drift subscriber={drift.subscriber_id} {drift.dimension}={drift.value!r} "
                f"stored(total,unread,unseen)={drift.stored} actual={drift.actual} fixed"
            )
        self.stdout.write(f"checked {report.subscribers} subscribers, {len(report.drift)} counters fixed")
