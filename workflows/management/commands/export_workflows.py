from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from workflows.files import export_workflows


class Command(BaseCommand):
    help = (
        "Write the published workflows as YAML or JSON: to stdout as a list, or one file each under --output."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["yaml", "json"], default="yaml", dest="file_format")
        parser.add_argument(
            "--output", type=Path, metavar="DIR", help="A directory for <key>.<format> files."
        )

    def handle(self, *args: Any, file_format: str, output: Path | None, **options: Any) -> None:
        self.stdout.write(export_workflows(file_format, output), ending="")
