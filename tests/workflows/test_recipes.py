"""README's workflow recipes, as written there, end to end: API -> NATS -> PostgreSQL -> SMTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from realtime.models import InboxMessage
from templates_admin.models import NotificationTemplate
from tests.conftest import wait_until
from tests.smtp_sink import SmtpSink
from tests.workflows.support import ended, post_event, subscriber, workflow_consumer_idle
from workflows import services
from workflows.files import load_text
from workflows.models import Run, RunStatus

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]
README = Path(__file__).resolve().parents[2] / "README.md"


def recipe(name: str) -> dict[str, Any]:
    """The YAML block of README whose first line is ``# recipe: <name>``."""
    found = re.search(rf"```yaml\n# recipe: {re.escape(name)}\n(.*?)```", README.read_text(), re.S)
    assert found, f"README has no recipe {name!r}"
    return dict(load_text(found.group(1)))


@sync_to_async
def publish_recipe(name: str) -> str:
    body = recipe(name)
    services.publish(body.pop("key"), body)
    return str(recipe(name)["key"])


async def comment_for(api: APIClient, event_body: EventBody, user_id: str) -> dict[str, Any]:
    """Recipe (a) published, and one comment event posted to a new subscriber."""
    event_type = await publish_recipe("in-app-then-email")
    await subscriber(user_id)
    body = event_body(eventType=event_type, userId=user_id, data={"title": "New comment"})
    await post_event(api, body)
    return body


async def _message_of(user_id: str) -> int | None:
    return await sync_to_async(
        InboxMessage.objects.filter(subscriber__user_id=user_id).values_list("pk", flat=True).first
    )()


async def test_recipe_a_read_in_app_message_gets_no_email(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    body = await comment_for(api, event_body, "recipe-a-reader")
    message_id = await wait_until(lambda: _message_of("recipe-a-reader"), interval=0.02)
    response = await sync_to_async(api.post)(f"/api/inbox/{message_id}/read?userId=recipe-a-reader")
    assert response.status_code == 200
    run = await wait_until(ended(body["eventId"]))
    assert (run.states["mail"].status, run.states["mail"].delivery) == ("skipped", None)
    assert run.states["mail"].values == {"condition": {"steps.inbox.read": True}}
    assert smtp_sink.messages == []


async def test_recipe_a_unread_in_app_message_is_emailed_after_the_delay(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    body = await comment_for(api, event_body, "recipe-a-away")
    run = await wait_until(ended(body["eventId"]))
    assert run.states["mail"].values["condition"] == {"steps.inbox.read": False}
    assert run.states["mail"].delivery.created_at >= run.states["inbox"].delivery.created_at
    await wait_until(lambda: len(smtp_sink.messages) == 1)
    assert smtp_sink.messages[0]["To"] == "recipe-a-away@example.com"
    assert smtp_sink.messages[0]["Subject"] == "New comment"
    assert await _message_of("recipe-a-away") is not None  # the in-app message came first


@sync_to_async
def email_template(event_type: str, subject: str, text_body: str) -> None:
    NotificationTemplate.objects.create(
        event_type=event_type, channel="email", locale="en", subject=subject, text_body=text_body
    )


def _text_of(message: Any) -> str:
    parts = message.get_payload() if message.is_multipart() else [message]
    plain = next(part for part in parts if part.get_content_type() == "text/plain")
    return str(plain.get_payload(decode=True).decode()).replace("\r\n", "\n")


async def test_recipe_b_comments_on_a_post_arrive_as_one_email_listing_them(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    event_type = await publish_recipe("comment-digest")
    await email_template(
        "comment.digest",
        "{{ digest.count }} new comments on {{ postTitle }}",
        "{% for comment in digest.events %}{{ comment.author }}: {{ comment.text }}\n{% endfor %}"
        'From {{ digest.actors|join:", " }}',
    )
    await subscriber("recipe-b-author")
    comments = [
        ("p1", "Launch", "ann", "Great post"),
        ("p2", "Roadmap", "cid", "When?"),
        ("p1", "Launch", "bob", "Agreed"),
        ("p1", "Launch", "ann", "One more thing"),
    ]
    for post, title, author, text in comments:
        data = {"postId": post, "postTitle": title, "author": author, "actor": author, "text": text}
        await post_event(api, event_body(eventType=event_type, userId="recipe-b-author", data=data))
    await wait_until(lambda: len(smtp_sink.messages) >= 2, timeout=30)
    await wait_until(workflow_consumer_idle)
    by_subject = {m["Subject"]: _text_of(m) for m in smtp_sink.messages}
    assert by_subject.keys() == {"3 new comments on Launch", "1 new comments on Roadmap"}
    launch = "ann: Great post\nbob: Agreed\nann: One more thing\nFrom ann, bob"
    assert launch in by_subject["3 new comments on Launch"]
    assert "cid: When?\nFrom cid" in by_subject["1 new comments on Roadmap"]
    assert len(smtp_sink.messages) == 2


def _next_minute(zone: str, now: datetime) -> tuple[datetime, str]:
    """The next minute at least 3 s away (UTC), and that minute's local "M H" in ``zone``."""
    moment = (now + timedelta(seconds=63)).replace(second=0, microsecond=0)
    local = moment.astimezone(ZoneInfo(zone))
    return moment, f"{local.minute} {local.hour}"


async def test_recipe_c_the_daily_digest_goes_at_the_local_time_of_each_subscriber(
    workflow_pipeline: None, api: APIClient, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    # Berlin (UTC+1 in winter, +2 in summer) and New York (UTC-5 / -4) are a whole number of
    # hours apart: one minute from now is the same minute in both, at two local hours. The
    # cron names both, so both digests close in a minute, each in its own zone; Kolkata
    # (UTC+5:30) is at another minute of the hour and must wait for its own 09:00-like time.
    body = recipe("daily-digest")
    now = datetime.now(UTC)
    moment, berlin = _next_minute("Europe/Berlin", now)
    _, new_york = _next_minute("America/New_York", now)
    minute = berlin.split()[0]
    cron = f"{minute} {berlin.split()[1]},{new_york.split()[1]} * * *"
    body["steps"][0]["config"]["at"] = cron
    event_type = body.pop("key")
    await sync_to_async(services.publish)(event_type, body)
    await email_template("activity.daily-digest", "{{ digest.count }} updates today", "{{ digest.count }}")
    zones = {
        "recipe-c-berlin": "Europe/Berlin",
        "recipe-c-ny": "America/New_York",
        "recipe-c-kolkata": "Asia/Kolkata",
    }
    for user, zone in zones.items():
        await subscriber(user, timezone=zone)
        for n in range(2):
            await post_event(api, event_body(eventType=event_type, userId=user, data={"n": n}))
    await wait_until(lambda: len(smtp_sink.messages) == 2, timeout=120)
    assert sorted(m["To"] for m in smtp_sink.messages) == [
        "recipe-c-berlin@example.com",
        "recipe-c-ny@example.com",
    ]
    assert {m["Subject"] for m in smtp_sink.messages} == {"2 updates today"}
    kolkata = await sync_to_async(
        lambda: list(
            Run.objects.filter(subscriber__user_id="recipe-c-kolkata", status=RunStatus.WAITING).values_list(
                "step_states__waiting_until", flat=True
            )
        )
    )()
    local = [until.astimezone(ZoneInfo("Asia/Kolkata")) for until in kolkata if until is not None]
    assert len(local) == 1 and local[0] > moment
    assert (f"{local[0].minute}", local[0].hour) in {
        (minute, int(h)) for h in (berlin.split()[1], new_york.split()[1])
    }
