from typing import Any

from django.core.management.base import BaseCommand

from pipeline.breaker import breakers, states


class Command(BaseCommand):
    help = "Close every provider's circuit breaker (after a provider outage is confirmed fixed)."

    def handle(self, *args: Any, **options: Any) -> None:
        breakers.reset()
        for provider, state in states().items():
            self.stdout.write(f"{provider}: {state['state']}")
