from django.core.management.base import BaseCommand

from pipeline import event_loop
from pipeline.runner import ensure_streams


class Command(BaseCommand):
    help = "Create or update the JetStream streams and durable consumers (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        event_loop.run(ensure_streams())
        self.stdout.write("streams and consumers ready")
