from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.imports import ImportRefused
from templates_admin.transfer import import_templates


class Command(BaseCommand):
    help = (
        "Create or update notification templates from DIR/<event type>/<locale>/<channel>/ (all or nothing)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, directory: Path, **options: Any) -> None:
        try:
            report = import_templates(directory)
        except ImportRefused as refused:
            raise CommandError(f"nothing imported:\n{refused}") from refused
        self.stdout.write(
            f"created {len(report.created)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}"
        )
