"""SMS: to the subscriber's ``phone`` (E.164), through Twilio."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings

from pipeline.channels.base import FieldAddressChannel


class SmsChannel(FieldAddressChannel):
    name: ClassVar[str] = "sms"
    field: ClassVar[str] = "phone"
    providers: ClassVar[dict[str, str]] = {"twilio": "pipeline.providers.sms.TwilioSmsProvider"}

    def default_providers(self) -> list[str]:
        return ["twilio"] if settings.TWILIO_ACCOUNT_SID else []
