"""A local Firebase Cloud Messaging: the OAuth token endpoint and FCM v1 ``messages:send``.

``service_account()`` gives a service-account JSON (fresh RSA key) whose ``token_uri`` is
this server, so firebase-admin's real credential flow runs: it signs a JWT assertion, the
fake verifies it with the public key and hands out an access token, which ``messages:send``
then requires. Error answers use FCM's JSON shape (``FcmError`` details with an errorCode).
"""

from __future__ import annotations

import json
import re
import secrets
from collections import deque
from typing import Any

from cryptography.hazmat.primitives import serialization
from google.auth import jwt

from tests.fakes.http_base import LocalHttpFake, form
from tests.fakes.tls import new_rsa_key, pem_private_key

SEND_PATH = re.compile(r"^/v1/projects/(?P<project>[\w-]+)/messages:send$")
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
STATUS_NAMES = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}


class FcmFake(LocalHttpFake):
    def __init__(self, project_id: str = "relay-test") -> None:
        super().__init__()
        self.project_id = project_id
        self.key = new_rsa_key()
        self.public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.access_tokens: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self.unregistered: set[str] = set()
        # (HTTP status, FCM errorCode) answered to the next sends, in order.
        self.fail_next: deque[tuple[int, str]] = deque()

    def service_account(self) -> dict[str, str]:
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": secrets.token_hex(20),
            "private_key": pem_private_key(self.key),
            "client_email": f"relay@{self.project_id}.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": f"{self.base_url}/token",
        }

    def handle_post(self, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        if path == "/token":
            return self._token(body)
        match = SEND_PATH.match(path)
        if not match or match["project"] != self.project_id:
            return 404, fcm_error(404, "NOT_FOUND", "Requested entity was not found.")
        if headers.get("Authorization", "").removeprefix("Bearer ") not in self.access_tokens:
            return 401, fcm_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        try:
            message = json.loads(body)["message"]
        except (ValueError, KeyError):  # e.g. cut off by a client killed mid-request
            return 400, fcm_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        with self.lock:
            if self.fail_next:
                status, code = self.fail_next.popleft()
                return status, fcm_error(status, code, "The service is currently unavailable.")
            if message.get("token") in self.unregistered:
                return 404, fcm_error(404, "UNREGISTERED", "Requested entity was not found.")
            self.sent.append(message)
            name = f"projects/{self.project_id}/messages/{len(self.sent)}"
        return 200, {"name": name}

    def _token(self, body: bytes) -> tuple[int, Any]:
        params = form(body)
        try:
            # google-auth signs for Google's token audience whatever the token_uri says.
            audiences = [f"{self.base_url}/token", GOOGLE_TOKEN_AUDIENCE]
            jwt.decode(params.get("assertion", ""), certs=self.public_pem, audience=audiences)
        except ValueError as error:
            return 400, {"error": "invalid_grant", "error_description": str(error)}
        token = "ya29.fake-" + secrets.token_urlsafe(16)
        with self.lock:
            self.access_tokens.add(token)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}


def fcm_error(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "status": STATUS_NAMES.get(status, code),
            "details": [{"@type": FCM_ERROR, "errorCode": code}],
        }
    }
