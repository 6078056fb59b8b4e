"""``relay_client.django.notify``: the event is sent when the transaction commits, not
before, and never when it rolls back."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.db import connection, transaction
from relay_client import AsyncRelay, NotFound, Relay
from relay_client.django import notify

from tests.client.conftest import FAST_RETRIES

pytestmark = [pytest.mark.django_db(transaction=True)]


class Rollback(Exception):
    pass


async def test_notify_sends_on_commit_only(relay: AsyncRelay, relay_url: str, relay_key: str) -> None:
    async def exists(event_id: str) -> bool:
        try:
            await relay.get_event(event_id)
        except NotFound:
            return False
        return True

    def in_transaction(commit: bool) -> tuple[str, bool]:
        # The blocking client calls Relay served by this test's loop, so it runs in a thread.
        client = Relay(relay_key, base_url=relay_url, retry=FAST_RETRIES)
        sent_inside: list[Any] = []
        try:
            with transaction.atomic():
                event_id = notify("account", client=client, user_id="u1", channels=["email"])
                sent_inside.append(asyncio.run_coroutine_threadsafe(exists(event_id), loop).result(10))
                if not commit:
                    raise Rollback
        except Rollback:
            pass
        finally:
            client.close()
            connection.close()
        return event_id, sent_inside[0]

    loop = asyncio.get_running_loop()
    committed, seen_before_commit = await asyncio.to_thread(in_transaction, True)
    assert not seen_before_commit
    assert (await relay.get_event(committed))["eventId"] == committed

    rolled_back, _ = await asyncio.to_thread(in_transaction, False)
    assert rolled_back != committed
    assert not await exists(rolled_back)
