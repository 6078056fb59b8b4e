from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.imports import ImportRefused
from workflows.files import import_workflows


class Command(BaseCommand):
    help = (
        "Publish workflows from YAML or JSON files (one workflow with a key, or a list) or "
        "directories of them; unchanged ones get no new version; all or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="file-or-dir")

    def handle(self, *args: Any, paths: list[Path], **options: Any) -> None:
        try:
            report = import_workflows(paths)
        except ImportRefused as refused:
            raise CommandError(f"nothing imported:\n{refused}") from refused
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(
            f"created {len(report.created)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}"
        )
