"""The client's Standard Webhooks verifier: against the `standardwebhooks` package, against
Relay's signer (core/webhook_signing.py), and on a real delivery of the webhook channel."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from relay_client import AsyncRelay, WebhookVerificationError, WebhookVerifier, verify_webhook
from standardwebhooks.webhooks import Webhook

from core import webhook_signing
from tests.conftest import wait_until
from tests.fakes.webhook import WebhookReceiver

BODY = json.dumps({"type": "notification", "data": {"eventId": "evt_1", "title": "Hi"}}).encode()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def test_accepts_what_standardwebhooks_signs_and_standardwebhooks_accepts_what_it_accepts() -> None:
    secret, now = new_secret(), datetime.now(UTC)
    signature = Webhook(secret).sign("msg_1", now, BODY.decode())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }

    assert verify_webhook(BODY, headers, secret) == json.loads(BODY)
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    # Header names are matched whatever their case, as HTTP servers hand them over variously.
    assert verify_webhook(BODY, {k.title(): v for k, v in headers.items()}, secret)["type"] == "notification"


def test_relay_signer_with_two_secrets_passes_either_and_refuses_others() -> None:
    old, new, stranger = new_secret(), new_secret(), new_secret()
    signed = webhook_signing.headers("msg_2", int(time.time()), BODY, [old, new])
    assert len(signed["webhook-signature"].split()) == 2

    for secret in (old, new, [stranger, new]):
        assert verify_webhook(BODY, signed, secret)["data"]["eventId"] == "evt_1"
        assert Webhook(secret if isinstance(secret, str) else new).verify(BODY, signed)
    with pytest.raises(WebhookVerificationError, match="No signature"):
        verify_webhook(BODY, signed, stranger)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"body": BODY.replace(b"Hi", b"Ho")}, "No signature"),
        ({"webhook-id": "msg_other"}, "No signature"),
        ({"webhook-signature": "v2,abc"}, "No signature"),
        ({"webhook-timestamp": "soon"}, "not a number"),
        ({"drop": "webhook-signature"}, "Missing header webhook-signature"),
    ],
)
def test_refuses_tampered_or_incomplete_requests(change: dict[str, Any], error: str) -> None:
    secret = new_secret()
    headers = webhook_signing.headers("msg_3", int(time.time()), BODY, [secret])
    body = change.pop("body", BODY)
    headers.pop(change.pop("drop", ""), None)
    headers.update(change)
    with pytest.raises(WebhookVerificationError, match=error):
        verify_webhook(body, headers, secret)


def test_refuses_a_timestamp_outside_the_tolerance() -> None:
    secret = new_secret()
    stamp = int(time.time())
    headers = webhook_signing.headers("msg_4", stamp, BODY, [secret])
    verifier = WebhookVerifier(secret, tolerance=60)
    assert verifier.verify(BODY, headers, now=stamp + 60)["type"] == "notification"
    for now in (stamp + 61, stamp - 61):
        with pytest.raises(WebhookVerificationError, match="tolerance"):
            verifier.verify(BODY, headers, now=now)


@pytest.mark.django_db(transaction=True)
async def test_verifies_a_webhook_channel_delivery_during_a_rotation(
    pipeline: None, relay: AsyncRelay, settings: Any
) -> None:
    old, new = new_secret(), new_secret()
    settings.RELAY_WEBHOOK_SECRET = f"{old} {new}"
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = True
    with WebhookReceiver() as receiver:
        await relay.identify("hooked", addresses={"webhook": receiver.url("/hook")})

        accepted = await relay.trigger(
            "account", user_id="hooked", channels=["webhook"], data={"title": "Build"}
        )

        (request,) = await wait_until(lambda: receiver.at("/hook"))
        # A receiver that has been given the new secret only.
        payload = verify_webhook(request.body, request.headers, new)
        assert payload["data"]["eventId"] == accepted["eventId"]
        assert payload["data"]["title"] == "Build"
        with pytest.raises(WebhookVerificationError):
            verify_webhook(request.body, request.headers, new_secret())
