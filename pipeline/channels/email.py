"""Email: to the subscriber's ``email``, through SMTP (or the console in development)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings

from pipeline.channels.base import FieldAddressChannel


class EmailChannel(FieldAddressChannel):
    name: ClassVar[str] = "email"
    field: ClassVar[str] = "email"
    providers: ClassVar[dict[str, str]] = {
        "smtp": "pipeline.providers.email.SmtpEmailProvider",
        "console": "pipeline.providers.email.ConsoleEmailProvider",
    }
    content_keys: ClassVar[tuple[str, ...]] = ("subject", "text")

    def default_providers(self) -> list[str]:
        """SMTP when a server is set (``EMAIL_HOST`` or ``EMAIL_URL``); without one, ``DEBUG``
        (as ``make run`` has it) prints each email, and production has no email."""
        if settings.EMAIL_HOST:
            return ["smtp"]
        return ["console"] if settings.DEBUG else []
