"""Shared by the inbox tests: tokens minted the way a client backend does, old tokens, clients."""

from __future__ import annotations

import time
from unittest import mock

from django.core import signing
from rest_framework.test import APIClient

from notifications.models import ApiKey, Subscriber
from notifications.subscriber_tokens import mint_subscriber_token


def token_for(user_id: str) -> str:
    """A subscriber token minted through ``POST /api/subscribers/<userId>/token``."""
    _, key = ApiKey.issue("token-minter")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(f"/api/subscribers/{user_id}/token")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def expired_token_for(subscriber: Subscriber, age_seconds: float) -> str:
    """A token minted ``age_seconds`` ago: the signer's timestamp is set back that far."""
    stamp = signing.b62_encode(int(time.time() - age_seconds))
    with mock.patch.object(signing.TimestampSigner, "timestamp", lambda self: stamp):
        return mint_subscriber_token(subscriber)


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client
