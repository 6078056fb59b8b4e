"""Route renders database templates; a template that cannot render fails the delivery, named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from deliveries.models import Delivery
from notifications.models import Subscriber
from realtime.models import InboxMessage
from templates_admin.models import NotificationTemplate
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]


@sync_to_async
def setup(**template: Any) -> None:
    Subscriber.objects.create(user_id="tpl-user", locale="de-AT")
    NotificationTemplate.objects.create(event_type="invoice.due", channel="in_app", locale="de", **template)


@sync_to_async
def delivery_of(event_id: str) -> Delivery | None:
    return Delivery.objects.filter(notification__event__event_id=event_id).first()


async def submit(api: APIClient, event_body: Callable[..., dict[str, Any]], data: dict[str, Any]) -> str:
    body = event_body(eventType="invoice.due", userId="tpl-user", channels=["in_app"], data=data)
    response = await sync_to_async(api.post)("/api/events", body, format="json")
    assert response.status_code == 202, response.content
    return body["eventId"]


async def test_missing_variable_fails_the_delivery_with_template_error(
    pipeline: None, api: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    await setup(subject="Rechnung", text_body="Hallo {{ userName }},\nfällig: {{ amount }}")
    event_id = await submit(api, event_body, {"userName": "Ada"})
    delivery = await wait_until(lambda: delivery_of(event_id))
    assert delivery.status == "failed"
    assert delivery.reason == "template_error"
    assert delivery.last_error == "in_app body line 2: missing variable 'amount'"


async def test_route_uses_the_language_template_for_a_regional_subscriber(
    pipeline: None, api: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    await setup(subject="Rechnung {{ number }}", text_body="Hallo {{ userName }}")
    event_id = await submit(api, event_body, {"userName": "Ada", "number": 7})
    delivery = await wait_until(lambda: delivery_of(event_id))
    assert delivery.reason == ""
    assert delivery.content["title"] == "Rechnung 7"
    assert delivery.content["body"] == "Hallo Ada"


async def test_an_in_app_template_gives_the_message_rendered_action_buttons(
    pipeline: None, api: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    buttons = {
        "primary": {"label": "Pay {{ amount }}", "key": "pay"},
        "secondary": {"label": "Invoice", "url": "{{ link }}"},
    }
    await setup(subject="Rechnung", text_body="fällig", actions=buttons)
    event_id = await submit(api, event_body, {"amount": "9 €", "link": "https://example.com/i/7"})
    delivery = await wait_until(lambda: delivery_of(event_id))
    assert delivery.content["actions"] == [
        {"key": "pay", "label": "Pay 9 €", "variant": "primary", "completedAt": None},
        {
            "key": "secondary",
            "label": "Invoice",
            "url": "https://example.com/i/7",
            "variant": "secondary",
            "completedAt": None,
        },
    ]

    # A variable that makes the link something other than http(s) fails the delivery, named.
    bad_id = await submit(api, event_body, {"amount": "1", "link": "javascript:alert(1)"})
    bad = await wait_until(lambda: delivery_of(bad_id))
    assert (bad.status, bad.reason) == ("failed", "template_error")
    assert bad.last_error == "in_app actions: secondary url: 'javascript:alert(1)' is not an http(s) URL."


async def test_an_in_app_templates_tags_come_before_the_events(
    pipeline: None, api: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    await setup(subject="Rechnung", text_body="fällig", tags=["billing", "finance"])
    body = event_body(
        eventType="invoice.due", userId="tpl-user", channels=["in_app"], metadata={"tags": ["finance", "q4"]}
    )
    assert (await sync_to_async(api.post)("/api/events", body, format="json")).status_code == 202

    message = await wait_until(
        sync_to_async(
            lambda: InboxMessage.objects.filter(
                delivery__notification__event__event_id=body["eventId"]
            ).first()
        )
    )

    assert message.tags == ["billing", "finance", "q4"]
