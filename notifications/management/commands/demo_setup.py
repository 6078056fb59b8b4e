from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.models import ApiKey
from notifications.services import upsert_subscriber

DEMO_USER = "demo-user"


class Command(BaseCommand):
    help = "Create a demo subscriber and API key, and print a curl command that sends an event."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        upsert_subscriber(DEMO_USER, {"email": "demo@example.com"})
        _, raw_key = ApiKey.issue("demo (make run)")
        base = f"http://127.0.0.1:{options['port']}"
        body = (
            '{"eventId": "evt_demo_\'$(date +%s)\'", "eventType": "account", '
            f'"userId": "{DEMO_USER}", "channels": ["email", "in_app"], "priority": "high", '
            '"data": {"userName": "John Doe", "actionUrl": "https://example.com/verify"}}'
        )
        self.stdout.write(
            f"""
Relay is starting on {base}

  API key (shown once): {raw_key}

Send an event:

  curl -s -X POST {base}/api/events \\
    -H 'Authorization: Bearer {raw_key}' -H 'Content-Type: application/json' \\
    -d '{body}'

Then see its deliveries (use the eventId the answer printed):

  curl -s {base}/api/events/<eventId> -H 'Authorization: Bearer {raw_key}'

The email is printed below by the console provider; Ctrl-C stops everything.
"""
        )
