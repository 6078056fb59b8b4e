"""The provider fakes and the event helper of tests/providers, for lifecycle tests that drive
real sends and status callbacks."""

from tests.providers.conftest import public_url, send_event, twilio_fake

__all__ = ["public_url", "send_event", "twilio_fake"]
