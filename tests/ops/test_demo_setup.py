"""`manage.py demo_setup` (what `make run` runs first): the printed curl's event arrives as a
readable email and in-app message, and the starter templates never replace anyone's words."""

from __future__ import annotations

import io
import json
import re
from email.message import Message
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command

from realtime.models import InboxMessage
from templates_admin.models import NotificationTemplate, TemplateVersion
from templates_admin.services import save_template
from tests.conftest import wait_until
from tests.smtp_sink import SmtpSink

# Autouse here too: the starter templates vanish with each test's rollback or flush, and the
# process's template cache must forget them, or later tests' "account" events would use them.
from tests.templates_admin.conftest import _fresh_template_cache  # noqa: F401

DEMO_EVENT_TYPES = {"account", "comment.created", "order.shipped", "account.security"}


def demo_setup() -> str:
    out = io.StringIO()
    call_command("demo_setup", "--port", "8123", stdout=out)
    return out.getvalue()


def printed_event(output: str) -> dict[str, Any]:
    """The body of the printed `curl -X POST .../api/events`, as the shell would send it."""
    (body,) = re.findall(r"-d '(.*)'$", output, flags=re.MULTILINE)
    return json.loads(body.replace("'$(date +%s)'", "1"))


def printed_key(output: str) -> str:
    (key,) = re.findall(r"API key \(shown once\): (\S+)", output)
    return key


def plain_text(message: Message) -> str:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")


def templates() -> list[tuple[str, str, str, int, str]]:
    return list(
        NotificationTemplate.objects.order_by("event_type", "channel").values_list(
            "event_type", "channel", "locale", "version", "text_body"
        )
    )


@pytest.mark.django_db(transaction=True)
async def test_the_printed_curl_gives_a_readable_email_and_in_app_message(
    pipeline: None, smtp_sink: SmtpSink, asgi_server: str
) -> None:
    import httpx

    output = await sync_to_async(demo_setup)()
    event = printed_event(output)
    headers = {"Authorization": f"Bearer {printed_key(output)}"}
    async with httpx.AsyncClient(base_url=f"http://{asgi_server}") as http:
        accepted = await http.post("/api/events", json=event, headers=headers)
    assert accepted.status_code == 202, accepted.text

    await wait_until(lambda: len(smtp_sink.messages) == 1)
    email = smtp_sink.messages[0]
    assert email["To"] == "demo@example.com"
    assert email["Subject"] == "Please confirm your account"
    text = plain_text(email)
    assert text.startswith("Hi John Doe,\n")
    assert "Confirm it here: https://example.com/verify" in text
    assert "userName:" not in text and "actionUrl:" not in text

    message = await wait_until(
        sync_to_async(lambda: InboxMessage.objects.filter(subscriber__user_id="demo-user").first())
    )
    assert message.title == "Confirm your account"
    assert message.body.startswith("Hi John Doe, please confirm your account")


@pytest.mark.django_db
def test_demo_setup_installs_templates_for_every_demo_event_type_and_channel() -> None:
    output = demo_setup()
    installed = templates()
    assert {row[0] for row in installed} == DEMO_EVENT_TYPES
    assert {(row[0], row[1]) for row in installed} == {
        (event_type, channel)
        for event_type in DEMO_EVENT_TYPES
        for channel in ("email", "in_app", "push", "sms")
    }
    assert {row[2] for row in installed} == {"en"}
    assert "Templates installed for: account, comment.created, order.shipped, account.security" in output
    liked = NotificationTemplate.objects.get(event_type="comment.created", channel="in_app")
    assert liked.actions == {"primary": {"label": "Like", "key": "like"}}


@pytest.mark.django_db
def test_demo_setup_run_twice_changes_no_template() -> None:
    demo_setup()
    before = templates()
    output = demo_setup()
    assert templates() == before
    assert not TemplateVersion.objects.exists()
    assert "Templates installed" not in output
    assert "kept as they are (already written) for: account, comment.created" in output


@pytest.mark.django_db
@pytest.mark.parametrize("active", [True, False])
def test_demo_setup_leaves_an_event_type_with_its_own_template_alone(active: bool) -> None:
    """A template staff wrote (or switched off) stays as it is; the other event types still get theirs."""
    own = NotificationTemplate(
        event_type="account",
        channel="email",
        locale="en",
        subject="Ours",
        text_body="Our words",
        active=active,
    )
    save_template(own, saved_by="staff")
    output = demo_setup()
    assert list(
        NotificationTemplate.objects.filter(event_type="account").values_list("text_body", flat=True)
    ) == ["Our words"]
    assert {row[0] for row in templates()} == DEMO_EVENT_TYPES
    assert "Templates installed for: comment.created, order.shipped, account.security" in output
    assert "kept as they are (already written) for: account" in output
