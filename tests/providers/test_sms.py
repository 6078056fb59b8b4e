"""SMS through the twilio SDK against a local Twilio, and Twilio's signed status callbacks."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse
from django.test import Client
from twilio.request_validator import RequestValidator

from deliveries.models import DeadLetter, Delivery
from tests.factories import SubscriberFactory
from tests.fakes.twilio import TwilioFake
from tests.providers.conftest import SendEvent, attempts_of, delivery_of

pytestmark = pytest.mark.django_db(transaction=True)


async def sent_sms(send_event: SendEvent, user_id: str, phone: str) -> Delivery:
    await sync_to_async(SubscriberFactory)(user_id=user_id, phone=phone)
    event_id = await send_event(user_id, ["sms"], data={"body": "Your code is 123456"})
    return await delivery_of(event_id, "sms")


async def reload(delivery: Delivery) -> Delivery:
    return await Delivery.objects.aget(pk=delivery.pk)


async def test_sms_is_sent_with_a_status_callback_and_delivered_when_twilio_reports_it(
    pipeline: None, twilio_fake: TwilioFake, public_url: str, send_event: SendEvent
) -> None:
    delivery = await sent_sms(send_event, "sms-ok", "+14155550101")

    assert delivery.status == "sent" and delivery.provider == "twilio"
    (message,) = twilio_fake.messages
    assert delivery.provider_message_id == message["Sid"]
    assert message["To"] == "+14155550101" and message["From"] == "+15005550006"
    assert message["Body"] == "Your code is 123456"
    assert message["StatusCallback"] == f"{public_url}/api/webhooks/twilio/status"

    answer = await asyncio.to_thread(twilio_fake.send_status, message["Sid"], "delivered")

    assert answer == 204
    delivered = await reload(delivery)
    assert delivered.status == "delivered" and delivered.delivered_at is not None


async def test_undelivered_callback_marks_the_delivery_failed_with_reason_undelivered(
    pipeline: None, twilio_fake: TwilioFake, public_url: str, send_event: SendEvent
) -> None:
    delivery = await sent_sms(send_event, "sms-undelivered", "+14155550102")

    answer = await asyncio.to_thread(
        twilio_fake.send_status, delivery.provider_message_id, "undelivered", "30003"
    )

    assert answer == 204
    failed = await reload(delivery)
    assert (failed.status, failed.reason) == ("failed", "undelivered")


async def test_callback_with_a_bad_signature_is_rejected_and_changes_nothing(
    pipeline: None, twilio_fake: TwilioFake, public_url: str, send_event: SendEvent
) -> None:
    delivery = await sent_sms(send_event, "sms-forged", "+14155550103")

    answer = await asyncio.to_thread(
        twilio_fake.send_status, delivery.provider_message_id, "delivered", "", "not-the-auth-token"
    )

    assert answer == 403
    assert (await reload(delivery)).status == "sent"


async def test_late_or_repeated_callbacks_do_not_undo_a_final_status(
    pipeline: None, twilio_fake: TwilioFake, public_url: str, send_event: SendEvent
) -> None:
    delivery = await sent_sms(send_event, "sms-late", "+14155550104")
    sid = delivery.provider_message_id

    assert await asyncio.to_thread(twilio_fake.send_status, sid, "delivered") == 204
    assert await asyncio.to_thread(twilio_fake.send_status, sid, "sent") == 204
    assert await asyncio.to_thread(twilio_fake.send_status, sid, "failed", "30008") == 204

    assert (await reload(delivery)).status == "delivered"


async def test_twilio_server_error_is_retried_then_sent(
    pipeline: None, twilio_fake: TwilioFake, send_event: SendEvent
) -> None:
    twilio_fake.fail_next.append((503, 20503))

    delivery = await sent_sms(send_event, "sms-retry", "+14155550105")

    assert delivery.status == "sent" and delivery.attempts == 2
    assert await attempts_of(delivery) == [("twilio", "transient"), ("twilio", "ok")]
    assert twilio_fake.requests == 2 and len(twilio_fake.messages) == 1


async def test_unsubscribed_number_fails_permanently_without_retry(
    pipeline: None, twilio_fake: TwilioFake, send_event: SendEvent
) -> None:
    twilio_fake.refuse["+14155550106"] = 21610  # the recipient replied STOP

    delivery = await sent_sms(send_event, "sms-stop", "+14155550106")

    assert delivery.status == "failed" and delivery.attempts == 1
    assert delivery.reason == "provider_rejected" and delivery.last_error.startswith("unsubscribed")
    assert twilio_fake.requests == 1
    assert await DeadLetter.objects.filter(delivery=delivery).aexists()


async def test_number_not_in_e164_is_suppressed_without_calling_twilio(
    pipeline: None, twilio_fake: TwilioFake, send_event: SendEvent
) -> None:
    delivery = await sent_sms(send_event, "sms-bad-number", "0415 555 0107")

    assert (delivery.status, delivery.reason) == ("suppressed", "invalid_address")
    assert twilio_fake.requests == 0
    assert not await DeadLetter.objects.filter(delivery=delivery).aexists()


def signed_post(client: Client, auth_token: str, params: dict[str, str]) -> HttpResponse:
    url = f"{settings.RELAY_PUBLIC_URL}/api/webhooks/twilio/status"
    signature = RequestValidator(auth_token).compute_signature(url, params)
    return client.post("/api/webhooks/twilio/status", params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_status_report_for_an_unknown_sid_is_404(twilio_fake: TwilioFake) -> None:
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}

    assert signed_post(Client(), twilio_fake.auth_token, params).status_code == 404


def test_signed_status_report_without_its_fields_is_400(twilio_fake: TwilioFake) -> None:
    response = signed_post(Client(), twilio_fake.auth_token, {"MessageStatus": "delivered"})

    assert response.status_code == 400 and "MessageSid" in response.json()["errors"]


def test_unsigned_status_report_is_403(twilio_fake: TwilioFake) -> None:
    response = Client().post(
        "/api/webhooks/twilio/status", {"MessageSid": "SMx", "MessageStatus": "delivered"}
    )

    assert response.status_code == 403
