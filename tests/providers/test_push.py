"""Push through firebase-admin's send_each against a local FCM v1 server and token endpoint."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from deliveries.models import DeadLetter
from notifications.models import Device, Subscriber
from pipeline.providers.base import OutboundMessage
from pipeline.providers.push import FcmPushProvider
from tests.factories import DeviceFactory, SubscriberFactory
from tests.fakes.fcm import FcmFake
from tests.providers.conftest import SendEvent, attempts_of, delivery_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Message.token is deprecated"),
]


async def subscriber_with_devices(user_id: str, *tokens: str, inactive: tuple[str, ...] = ()) -> Subscriber:
    def create() -> Subscriber:
        subscriber = SubscriberFactory(user_id=user_id)
        for token in tokens:
            DeviceFactory(subscriber=subscriber, token=token)
        for token in inactive:
            DeviceFactory(subscriber=subscriber, token=token, active=False)
        return subscriber

    return await sync_to_async(create)()


async def active_tokens(subscriber: Subscriber) -> set[str]:
    return {
        t
        async for t in Device.objects.filter(subscriber=subscriber, active=True).values_list(
            "token", flat=True
        )
    }


async def test_push_goes_to_every_active_device_of_the_subscriber(
    pipeline: None, fcm_fake: FcmFake, send_event: SendEvent
) -> None:
    await subscriber_with_devices("push-all", "phone-a", "tablet-b", inactive=("old-c",))

    event_id = await send_event(
        "push-all",
        ["push"],
        data={"title": "New login", "body": "From Berlin", "actionUrl": "https://x.test/a"},
    )
    delivery = await delivery_of(event_id, "push")

    assert delivery.status == "sent" and delivery.provider == "fcm"
    assert {m["token"] for m in fcm_fake.sent} == {"phone-a", "tablet-b"}
    message = fcm_fake.sent[0]
    assert message["notification"] == {"title": "New login", "body": "From Berlin"}
    assert message["data"]["eventId"] == event_id and message["data"]["actionUrl"] == "https://x.test/a"
    assert delivery.provider_message_id.startswith("projects/relay-test/messages/")


async def test_unregistered_token_deactivates_that_device_only(
    pipeline: None, fcm_fake: FcmFake, send_event: SendEvent
) -> None:
    subscriber = await subscriber_with_devices("push-dead", "live-token", "dead-token")
    fcm_fake.unregistered.add("dead-token")

    delivery = await delivery_of(await send_event("push-dead", ["push"]), "push")

    assert delivery.status == "sent"
    assert await active_tokens(subscriber) == {"live-token"}


async def test_every_token_dead_fails_permanently_and_deactivates_them(
    pipeline: None, fcm_fake: FcmFake, send_event: SendEvent
) -> None:
    subscriber = await subscriber_with_devices("push-gone", "gone-1", "gone-2")
    fcm_fake.unregistered.update({"gone-1", "gone-2"})

    delivery = await delivery_of(await send_event("push-gone", ["push"]), "push")

    assert (
        delivery.status == "failed"
        and delivery.attempts == 1
        and delivery.reason == "provider_rejected"
        and "unregistered" in delivery.last_error
    )
    assert await active_tokens(subscriber) == set()
    assert await DeadLetter.objects.filter(delivery=delivery).aexists()


async def test_fcm_quota_error_is_retried_then_sent(
    pipeline: None, fcm_fake: FcmFake, send_event: SendEvent
) -> None:
    await subscriber_with_devices("push-retry", "retry-token")
    fcm_fake.fail_next.append((429, "QUOTA_EXCEEDED"))

    delivery = await delivery_of(await send_event("push-retry", ["push"]), "push")

    assert delivery.status == "sent" and delivery.attempts == 2
    assert await attempts_of(delivery) == [("fcm", "transient"), ("fcm", "ok")]
    assert [m["token"] for m in fcm_fake.sent] == ["retry-token"]


async def test_a_large_batch_reaches_every_device_of_every_delivery_once(fcm_fake: FcmFake) -> None:
    messages = [
        OutboundMessage(
            delivery_id=n,
            channel="push",
            event_id=f"evt-{n}",
            event_type="account",
            subscriber_id=n,
            user_id=f"u{n}",
            to="",
            content={"title": "Hi", "body": "There"},
            devices=[f"t{n}-a", f"t{n}-b", f"t{n}-c"],
        )
        for n in range(200)
    ]

    results = await FcmPushProvider().send_batch(messages)

    assert {(r.kind, r.details["sent"]) for r in results} == {("ok", 3)}
    assert len(fcm_fake.sent) == 600


async def test_delivery_whose_devices_all_went_away_is_suppressed_without_calling_fcm(
    fcm_fake: FcmFake,
) -> None:
    message = OutboundMessage(
        delivery_id=1,
        channel="push",
        event_id="evt-1",
        event_type="account",
        subscriber_id=1,
        user_id="u1",
        to="",
        content={"title": "Hi"},
    )

    (result,) = await FcmPushProvider().send_batch([message])

    assert (result.kind, result.details["suppress"]) == ("permanent", "no_address")
    assert fcm_fake.sent == []
