from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from ops.demo import CURL_EVENT_TYPE, DEMO_USER, set_up_demo
from templates_admin.services import StarterReport


def describe_templates(report: StarterReport) -> str:
    lines = []
    if report.installed:
        lines.append(f"  Templates installed for: {', '.join(report.installed)}")
    if report.skipped:
        lines.append(f"  Templates kept as they are (already written) for: {', '.join(report.skipped)}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Create a demo subscriber, an API key and readable templates for the demo's event types "
        "(event types with templates are left alone), and print a curl command that sends an event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        demo = set_up_demo()
        raw_key = demo.raw_key
        base = f"http://127.0.0.1:{options['port']}"
        body = (
            f'{{"eventId": "evt_demo_\'$(date +%s)\'", "eventType": "{CURL_EVENT_TYPE}", '
            f'"userId": "{DEMO_USER}", "channels": ["email", "in_app"], "priority": "high", '
            '"data": {"userName": "John Doe", "actionUrl": "https://example.com/verify"}}'
        )
        self.stdout.write(
            f"""
Relay is starting on {base}

  API key (shown once): {raw_key}
{describe_templates(demo.templates)}
  Edit them in the admin: {base}/admin/templates_admin/notificationtemplate/
  Links in emails (unsubscribe) point at RELAY_PUBLIC_URL={settings.RELAY_PUBLIC_URL}

Send an event:

  curl -s -X POST {base}/api/events \\
    -H 'Authorization: Bearer {raw_key}' -H 'Content-Type: application/json' \\
    -d '{body}'

Then see its deliveries (use the eventId the answer printed):

  curl -s {base}/api/events/<eventId> -H 'Authorization: Bearer {raw_key}'

and the latest events with a summary of their deliveries:

  curl -s '{base}/api/events?limit=10' -H 'Authorization: Bearer {raw_key}'

The email is printed below by the console provider; Ctrl-C stops everything.
"""
        )
