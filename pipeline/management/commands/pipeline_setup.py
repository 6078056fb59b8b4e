from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pipeline import event_loop
from pipeline.jetstream import StreamSetupError
from pipeline.runner import ensure_streams


class Command(BaseCommand):
    help = (
        "Create or update the JetStream streams and durable consumers (idempotent), live streams "
        "included: they take RELAY_STREAM_REPLICAS. Exits non-zero, saying what to do, when "
        "JetStream cannot apply the configuration in place."
    )

    def handle(self, *args: object, **options: object) -> None:
        try:
            event_loop.run(ensure_streams(change_replicas=True))
        except StreamSetupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"streams and consumers ready ({settings.RELAY_STREAM_REPLICAS} replica(s))")
