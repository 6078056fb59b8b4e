"""A local Twilio: the Messages endpoint of API 2010-04-01 and signed status callbacks.

It checks the account's Basic auth like Twilio, answers with Twilio's JSON shapes
(message resource, error body with ``code``), and posts status callbacks signed with the
auth token (``X-Twilio-Signature``) when the test says the handset answered.
"""

from __future__ import annotations

import base64
import re
import secrets
import urllib.error
import urllib.request
from collections import deque
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from tests.fakes.http_base import LocalHttpFake, form

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")


class TwilioFake(LocalHttpFake):
    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[dict[str, str]] = []
        self.requests = 0
        # (HTTP status, Twilio error code) answered to the next requests, in order.
        self.fail_next: deque[tuple[int, int]] = deque()
        # Numbers Twilio refuses with this error code (e.g. 21610: replied STOP).
        self.refuse: dict[str, int] = {}

    def handle_post(self, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        match = MESSAGES_PATH.match(path)
        if not match:
            return 404, error_body(20404, 404, "The requested resource was not found")
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if headers.get("Authorization") != f"Basic {expected}" or match["sid"] != self.account_sid:
            return 401, error_body(20003, 401, "Authenticate")
        params = form(body)
        with self.lock:
            self.requests += 1
            if self.fail_next:
                status, code = self.fail_next.popleft()
                return status, error_body(code, status, "Service unavailable")
            if params.get("To") in self.refuse:
                return 400, error_body(
                    self.refuse[params["To"]], 400, "Message cannot be sent to this number"
                )
            sid = "SM" + secrets.token_hex(16)
            self.messages.append({**params, "Sid": sid})
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": params.get("To"),
            "from": params.get("From"),
            "messaging_service_sid": params.get("MessagingServiceSid"),
            "body": params.get("Body"),
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    def send_status(self, sid: str, status: str, error_code: str = "", auth_token: str = "") -> int:
        """POST Twilio's status callback for a message, signed like Twilio signs it; the answer.

        ``auth_token`` other than the account's forges the signature. Blocking: call it from a
        worker thread when the server under test runs in the same event loop.
        """
        message = next(m for m in self.messages if m["Sid"] == sid)
        url = message["StatusCallback"]
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message["To"],
            "From": message.get("From", ""),
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            params["ErrorCode"] = error_code
        signature = RequestValidator(auth_token or self.auth_token).compute_signature(url, params)
        request = urllib.request.Request(
            url,
            data=urlencode(params).encode(),
            headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)


def error_body(code: int, status: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
