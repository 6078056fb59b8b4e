"""Dead letters: the admin's replay and discard actions and the replay_dead_letters command."""

from __future__ import annotations

import io
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from deliveries.models import DeadLetter, Delivery
from tests.conftest import wait_until
from tests.factories import DeliveryFactory
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.django_db(transaction=True)]


def _dead_letter(status: str = "failed", channel: str = "email") -> DeadLetter:
    delivery = DeliveryFactory(status=status, channel=channel, attempts=5, reason="550 mailbox unavailable")
    return DeadLetter.objects.create(delivery=delivery, channel=channel, reason="550 mailbox unavailable")


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


def _act(client: Client, action: str, ids: list[int], **filters: str) -> Any:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return client.post(
        f"/admin/deliveries/deadletter/?{query}",
        {"action": action, "_selected_action": [str(i) for i in ids]},
        follow=True,
    )


async def test_replay_from_admin_sends_the_same_delivery_once_the_fault_is_fixed(
    pipeline: None, smtp_sink: SmtpSink, staff: Client
) -> None:
    letter = await sync_to_async(_dead_letter)()
    response = await sync_to_async(_act)(staff, "replay_dead_letters", [letter.pk])
    assert "Replayed 1" in response.content.decode()

    await wait_until(lambda: len(smtp_sink.messages) == 1)
    assert smtp_sink.messages[0]["X-Relay-Delivery-Id"] == str(letter.delivery_id)
    status = sync_to_async(lambda: Delivery.objects.get(pk=letter.delivery_id).status)
    await wait_until(lambda: _is(status, "sent"))
    delivery = await sync_to_async(Delivery.objects.get)(pk=letter.delivery_id)
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    letter = await sync_to_async(DeadLetter.objects.get)(pk=letter.pk)
    assert letter.replayed_at is not None


async def test_replaying_a_delivery_that_was_in_fact_delivered_sends_nothing(
    pipeline: None, smtp_sink: SmtpSink
) -> None:
    delivered = await sync_to_async(_dead_letter)(status="delivered")
    out = io.StringIO()
    await sync_to_async(call_command)("replay_dead_letters", stdout=out)
    assert out.getvalue().strip() == "replayed=0 already_done=1 unpublished=0"
    await sync_to_async(call_command)("replay_dead_letters", stdout=out)  # nothing open is left
    assert out.getvalue().splitlines()[-1] == "replayed=0 already_done=0 unpublished=0"
    delivery = await sync_to_async(Delivery.objects.get)(pk=delivered.delivery_id)
    assert delivery.status == "delivered"
    assert smtp_sink.messages == []


def test_replay_command_filters_by_channel(streams: None) -> None:
    email, sms = _dead_letter(channel="email"), _dead_letter(channel="sms")
    out = io.StringIO()
    call_command("replay_dead_letters", "--channel", "sms", stdout=out)
    assert out.getvalue().strip() == "replayed=1 already_done=0 unpublished=0"
    assert Delivery.objects.get(pk=sms.delivery_id).status == "pending"
    assert Delivery.objects.get(pk=email.delivery_id).status == "failed"
    assert DeadLetter.objects.get(pk=email.pk).replayed_at is None


def test_discard_from_admin_over_every_row_matching_the_filter(staff: Client) -> None:
    email = [_dead_letter(channel="email") for _ in range(3)]
    sms = _dead_letter(channel="sms")
    response = _act(staff, "discard_dead_letters", [dl.pk for dl in email], channel__exact="email")
    assert "Discarded 3 dead letters" in response.content.decode()
    assert DeadLetter.objects.filter(discarded_at__isnull=False).count() == 3
    assert DeadLetter.objects.get(pk=sms.pk).discarded_at is None
    # A discarded dead letter cannot be replayed any more.
    response = _act(staff, "replay_dead_letters", [email[0].pk])
    assert "Replayed 0" in response.content.decode()
    assert Delivery.objects.get(pk=email[0].delivery_id).status == "failed"


def test_dead_letter_list_filters_and_shows_circuit_breakers(staff: Client, settings: Any) -> None:
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "email": ["smtp"]}
    open_letter, done = _dead_letter(), _dead_letter()
    DeadLetter.objects.filter(pk=done.pk).update(discarded_at=done.created_at)
    page = staff.get("/admin/deliveries/deadletter/?state=open").content.decode()
    assert f"/admin/deliveries/deadletter/{open_letter.pk}/change/" in page
    assert f"/admin/deliveries/deadletter/{done.pk}/change/" not in page
    assert "Circuit breakers" in page and "smtp" in page


async def _is(read: Any, expected: str) -> bool:
    return await read() == expected
