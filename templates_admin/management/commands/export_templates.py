from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from templates_admin.transfer import export_templates


class Command(BaseCommand):
    help = "Write the active notification templates to DIR/<event type>/<locale>/<channel>/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, directory: Path, **options: Any) -> None:
        count = export_templates(directory)
        self.stdout.write(f"exported {count} templates to {directory}")
