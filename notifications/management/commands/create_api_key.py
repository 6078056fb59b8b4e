from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.models import API_KEY_SCOPES, ApiKey


class Command(BaseCommand):
    help = "Create an API key and print it (alone, on stdout). It is shown only this once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--scopes", default=",".join(API_KEY_SCOPES), help="Comma-separated: " + ", ".join(API_KEY_SCOPES)
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        unknown = sorted(set(scopes) - set(API_KEY_SCOPES))
        if unknown:
            self.stderr.write(f"unknown scopes: {', '.join(unknown)}")
            raise SystemExit(2)
        _, raw_key = ApiKey.issue(options["name"], scopes)
        self.stdout.write(raw_key)
