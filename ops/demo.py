"""What `make run` sets up before serving (``manage.py demo_setup``): a demo subscriber, an API
key, and readable templates for the demo's event types.

Without templates an event is rendered by the built-in default, which lists the event's
``data`` as ``key: value`` lines: fine as a fallback, a poor first email. The starter templates
below are ordinary rows, versioned and editable in the admin; an event type that already has
templates keeps them (``install_starter_templates``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from notifications.models import ApiKey
from notifications.services import upsert_subscriber
from realtime.demo import DEMO_EVENT_TYPES
from templates_admin.locales import default_locale
from templates_admin.models import NotificationTemplate
from templates_admin.services import StarterReport, install_starter_templates

DEMO_USER = "demo-user"
# The event type of the curl demo_setup prints; its data has userName and actionUrl.
CURL_EVENT_TYPE = "account"
SAVED_BY = "demo_setup"

ACCOUNT_TEMPLATES = {
    "email": {
        "subject": "Please confirm your account",
        "text_body": (
            'Hi {{ userName|default:"there" }},\n\n'
            "Please confirm your account to finish setting it up.\n"
            "{% if actionUrl %}\nConfirm it here: {{ actionUrl }}\n{% endif %}\n"
            "Thanks,\nThe Relay demo"
        ),
        "html_body": (
            '<p>Hi {{ userName|default:"there" }},</p>\n'
            "<p>Please confirm your account to finish setting it up.</p>\n"
            '{% if actionUrl %}<p><a href="{{ actionUrl }}">Confirm your account</a></p>{% endif %}\n'
            "<p>Thanks,<br>The Relay demo</p>"
        ),
    },
    "in_app": {
        "subject": "Confirm your account",
        "text_body": 'Hi {{ userName|default:"there" }}, please confirm your account to finish signing up.',
    },
    "push": {
        "subject": "Confirm your account",
        "text_body": 'Hi {{ userName|default:"there" }}, tap to confirm your account.',
    },
    "sms": {
        "text_body": (
            'Relay: hi {{ userName|default:"there" }}, please confirm your account'
            "{% if actionUrl %}: {{ actionUrl }}{% endif %}"
        ),
    },
}

# The page at / sends these event types with a title, a body and maybe an actionUrl.
PAGE_TITLES = {
    "comment.created": "New comment",
    "order.shipped": "Your order has shipped",
    "account.security": "Security alert",
}


# In-app buttons of the page's event types: a comment can be liked from the inbox.
PAGE_BUTTONS: dict[str, dict[str, Any]] = {"comment.created": {"primary": {"label": "Like", "key": "like"}}}


def page_templates(default_title: str) -> dict[str, dict[str, Any]]:
    """Title and body as sent, a link when there is one; ``default_title`` when the title is missing."""
    title = f'{{{{ title|default:"{default_title}" }}}}'
    body = '{{ body|default:"" }}'
    return {
        "email": {
            "subject": title,
            "text_body": f"{body}{{% if actionUrl %}}\n\nOpen: {{{{ actionUrl }}}}{{% endif %}}",
            "html_body": (
                f"<h2>{title}</h2>\n{{% if body %}}<p>{body}</p>{{% endif %}}\n"
                '{% if actionUrl %}<p><a href="{{ actionUrl }}">Open</a></p>{% endif %}'
            ),
        },
        "in_app": {"subject": title, "text_body": body},
        "push": {"subject": title, "text_body": body},
        "sms": {"text_body": f"{title}{{% if body %}}: {body}{{% endif %}}"},
    }


def demo_templates() -> list[NotificationTemplate]:
    """Unsaved starter templates in DEFAULT_LOCALE for the curl's and the page's event types."""
    contents: dict[str, dict[str, dict[str, Any]]] = {CURL_EVENT_TYPE: ACCOUNT_TEMPLATES}
    contents.update({event_type: page_templates(PAGE_TITLES[event_type]) for event_type in DEMO_EVENT_TYPES})
    for event_type, buttons in PAGE_BUTTONS.items():
        contents[event_type]["in_app"] = {**contents[event_type]["in_app"], "actions": buttons}
    return [
        NotificationTemplate(event_type=event_type, channel=channel, locale=default_locale(), **fields)
        for event_type, channels in contents.items()
        for channel, fields in channels.items()
    ]


@dataclass(frozen=True)
class DemoSetup:
    raw_key: str
    templates: StarterReport


@transaction.atomic
def set_up_demo() -> DemoSetup:
    """The demo subscriber (with an email address), a new API key and the starter templates."""
    upsert_subscriber(DEMO_USER, {"email": "demo@example.com"})
    _, raw_key = ApiKey.issue("demo (make run)")
    return DemoSetup(
        raw_key=raw_key, templates=install_starter_templates(demo_templates(), saved_by=SAVED_BY)
    )
