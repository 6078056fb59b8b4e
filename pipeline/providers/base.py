"""The one interface every provider implements, and the message it is given."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

Kind = Literal["ok", "transient", "permanent"]
# ``details`` key of a permanent result that means "suppress the delivery with this reason"
# (e.g. ``invalid_address``): not a provider failure, so no dead letter.
SUPPRESS = "suppress"


@dataclass
class OutboundMessage:
    """Everything a provider needs; built by the deliver stage from the delivery row."""

    delivery_id: int
    channel: str
    event_id: str
    event_type: str
    subscriber_id: int
    user_id: str
    to: str
    content: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    devices: list[str] = field(default_factory=list)
    priority: str = "normal"
    tags: list[str] = field(default_factory=list)


@dataclass
class ProviderResult:
    kind: Kind
    provider: str
    provider_message_id: str = ""
    error: str = ""
    duration_ms: float = 0.0
    # Extra facts for the stage, e.g. push tokens the provider reported dead.
    details: dict[str, Any] = field(default_factory=dict)
    # Seconds the provider asked us to wait before retrying (Retry-After); 0: no preference.
    retry_after: float = 0.0

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


# Told of each message a provider accepted, with its ``ok`` result, as soon as the provider
# answered and before that connection's next call: the deliver stage records the acceptance
# durably (``pipeline.acceptances``), so a worker killed mid-batch repeats only the calls in
# flight. It blocks until recorded, so providers call it from their worker threads.
OnAccepted = Callable[[OutboundMessage, ProviderResult], None]


def ignore_acceptance(message: OutboundMessage, result: ProviderResult) -> None:
    """For callers that record nothing (tests, tools)."""


class Provider:
    """Send one message; report ``ok``, a ``transient`` failure (retry) or a ``permanent`` one.

    ``send_batch`` exists so that a provider can share a connection across a batch; by
    default it sends the messages concurrently and reports each acceptance as it comes,
    so a provider that implements ``send`` alone gets that for free. One that overrides
    ``send_batch`` calls ``on_accepted`` itself, after each ``ok``.
    """

    name: ClassVar[str]
    channel: ClassVar[str]
    # False for a provider whose send is its own durable record (the inbox row): the deliver
    # stage then neither records acceptances for it nor looks them up.
    records_acceptances: ClassVar[bool] = True

    async def send(self, message: OutboundMessage) -> ProviderResult:
        raise NotImplementedError

    async def send_batch(
        self, messages: Sequence[OutboundMessage], on_accepted: OnAccepted = ignore_acceptance
    ) -> list[ProviderResult]:
        async def send_one(message: OutboundMessage) -> ProviderResult:
            result = await self.send(message)
            if result.ok:
                await asyncio.to_thread(on_accepted, message, result)
            return result

        return list(await asyncio.gather(*(send_one(m) for m in messages)))

    def result(self, kind: Kind, started: float, **fields: Any) -> ProviderResult:
        return ProviderResult(
            kind=kind, provider=self.name, duration_ms=(time.perf_counter() - started) * 1000, **fields
        )

    def suppressed(self, started: float, reason: str) -> ProviderResult:
        """Nothing was sent and nothing ever will be: the address itself is unusable."""
        return self.result("permanent", started, error=reason, details={SUPPRESS: reason})

    async def timed(self, call: Callable[[], Awaitable[str]]) -> ProviderResult:
        """Run a call that returns the provider's message id; any exception is transient."""
        started = time.perf_counter()
        try:
            message_id = await call()
        except Exception as error:
            return self.result("transient", started, error=f"{type(error).__name__}: {error}")
        return self.result("ok", started, provider_message_id=message_id)
