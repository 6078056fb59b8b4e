"""One-click unsubscribe: the List-Unsubscribe URL of a real email turns the preference off."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import AsyncClient, Client

from notifications.models import Subscriber
from pipeline.providers.base import OutboundMessage
from pipeline.providers.email import SmtpEmailProvider
from preferences.models import Preference
from tests.factories import SubscriberFactory
from tests.fakes.smtp import SmtpServer

pytestmark = pytest.mark.django_db(transaction=True)


async def unsubscribe_path(smtp_server: SmtpServer, subscriber: Subscriber, event_type: str) -> str:
    """Send a real email to the subscriber and return the path of its List-Unsubscribe URL."""
    message = OutboundMessage(
        delivery_id=1,
        channel="email",
        event_id="evt-unsub",
        event_type=event_type,
        subscriber_id=subscriber.pk,
        user_id=subscriber.user_id,
        to=subscriber.email,
        content={"subject": "Weekly digest", "text": "News"},
    )
    (result,) = await SmtpEmailProvider().send_batch([message])
    assert result.ok
    header = "".join(smtp_server.messages[-1]["List-Unsubscribe"].split())
    return urlsplit(header.strip("<>")).path


async def test_one_click_post_turns_off_that_event_types_email_preference(smtp_server: SmtpServer) -> None:
    subscriber = await Subscriber.objects.acreate(user_id="unsub-1", email="unsub-1@example.com")
    path = await unsubscribe_path(smtp_server, subscriber, "digest.weekly")
    client = AsyncClient()

    response = await client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    again = await client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200 and again.status_code == 200
    assert response.json() == {
        "unsubscribed": True,
        "userId": "unsub-1",
        "channel": "email",
        "eventType": "digest.weekly",
    }
    preferences = [p async for p in Preference.objects.filter(subscriber=subscriber)]
    assert [(p.channel, p.event_type, p.enabled) for p in preferences] == [("email", "digest.weekly", False)]


async def test_unsubscribe_link_opened_in_a_browser_works_too(smtp_server: SmtpServer) -> None:
    subscriber = await Subscriber.objects.acreate(user_id="unsub-2", email="unsub-2@example.com")
    path = await unsubscribe_path(smtp_server, subscriber, "account")

    response = await AsyncClient().get(path)

    assert response.status_code == 200
    assert not (
        await Preference.objects.aget(subscriber=subscriber, channel="email", event_type="account")
    ).enabled


def test_tampered_unsubscribe_token_is_rejected_and_changes_nothing() -> None:
    SubscriberFactory(user_id="unsub-3")

    response = Client().post("/api/unsubscribe/eyJzIjoxLCJjIjoiZW1haWwiLCJlIjoiYSJ9:1xVQWJ:forged")

    assert response.status_code == 400 and "token" in response.json()["errors"]
    assert not Preference.objects.exists()
