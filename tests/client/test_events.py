"""Events through the client against a live Relay: trigger, its retries and typed errors."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from relay_client import (
    AsyncRelay,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Relay,
    RelayConnectionError,
    RetryPolicy,
    Unauthorized,
    Unavailable,
)

from core.embedded_nats import free_port
from notifications.models import ApiKey
from tests.client.conftest import FAST_RETRIES, FlakyProxy

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_trigger_makes_an_event_id_and_a_resend_is_a_duplicate(relay: AsyncRelay) -> None:
    accepted = await relay.trigger("account", user_id="u1", channels=["email"], data={"name": "Ann"})
    assert accepted["status"] == "accepted"
    assert accepted["eventId"].startswith("evt_")
    assert "duplicate" not in accepted

    again = await relay.trigger(
        "account", user_id="u1", channels=["email"], data={"name": "Ann"}, event_id=accepted["eventId"]
    )
    assert again == {"eventId": accepted["eventId"], "status": "accepted", "duplicate": True}
    detail = await relay.get_event(accepted["eventId"])
    assert detail["eventId"] == accepted["eventId"]


async def test_sync_client_has_the_same_calls(relay_url: str, relay_key: str) -> None:
    def work() -> tuple[str, str, list[str]]:
        with Relay(relay_key, base_url=relay_url, retry=FAST_RETRIES) as relay:
            relay.identify("sync-user", email="sync@example.com")
            accepted = relay.trigger("account", user_id="sync-user", channels=["email"])
            relay.put_topic("sync-topic")
            relay.add_topic_members("sync-topic", ["sync-user", "other-1", "other-2"])
            members = list(relay.iter_topic_members("sync-topic", limit=2))
            return accepted["eventId"], relay.get_subscriber("sync-user")["email"], members

    # The server runs in this test's event loop: the blocking client calls from a thread.
    event_id, email, members = await asyncio.to_thread(work)
    assert event_id.startswith("evt_")
    assert email == "sync@example.com"
    assert sorted(members) == ["other-1", "other-2", "sync-user"]  # all of them, none twice


async def test_no_server_is_a_connection_error_after_the_retries() -> None:
    async with AsyncRelay("rk_any", base_url=f"http://127.0.0.1:{free_port()}", retry=FAST_RETRIES) as relay:
        with pytest.raises(RelayConnectionError):
            await relay.trigger("account", user_id="u1", channels=["email"])


def test_the_package_stands_alone(tmp_path: Path) -> None:
    """Importable with nothing of the server's on the path, and without importing Django."""
    check = "import sys, relay_client, relay_client.webhooks; assert 'django' not in sys.modules"
    source = Path(__file__).resolve().parents[2] / "clients" / "python" / "src"
    env = {**os.environ, "PYTHONPATH": str(source)}
    run = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


async def test_a_503_is_retried_after_retry_after_with_the_same_event_id(
    flaky_proxy: FlakyProxy, relay_key: str, relay: AsyncRelay
) -> None:
    flaky_proxy.refusals = [(503, {"retry-after": "1"})]
    async with AsyncRelay(relay_key, base_url=flaky_proxy.url, retry=RetryPolicy(max_retries=2)) as client:
        accepted = await client.trigger("account", user_id="u1", channels=["email"])

    first, second = flaky_proxy.seen
    assert first.body == second.body  # the very same event, eventId included
    assert first.body["eventId"] == accepted["eventId"]
    assert second.at - first.at >= 0.95  # Retry-After: 1 was waited for
    assert accepted == {"eventId": first.body["eventId"], "status": "accepted"}  # stored once, by the retry
    assert (await relay.get_event(accepted["eventId"]))["eventId"] == accepted["eventId"]


async def test_retries_are_bounded_and_a_rate_limit_is_retried_too(
    flaky_proxy: FlakyProxy, relay_key: str
) -> None:
    policy = RetryPolicy(max_retries=2, backoff=0.01)
    flaky_proxy.refusals = [
        (429, {"retry-after": "0"}),
        (503, {"retry-after": "0"}),
        (503, {"retry-after": "0"}),
    ]
    async with AsyncRelay(relay_key, base_url=flaky_proxy.url, retry=policy) as client:
        with pytest.raises(Unavailable) as refused:
            await client.trigger("account", user_id="u1", channels=["email"])
    assert refused.value.retry_after == 0
    assert refused.value.status == 503
    assert len(flaky_proxy.seen) == 3
    assert len({seen.body["eventId"] for seen in flaky_proxy.seen}) == 1


async def test_a_retry_after_beyond_the_bound_is_raised_at_once(
    flaky_proxy: FlakyProxy, relay_key: str
) -> None:
    flaky_proxy.refusals = [(503, {"retry-after": "3600"})]
    async with AsyncRelay(
        relay_key, base_url=flaky_proxy.url, retry=RetryPolicy(max_retry_after=30)
    ) as client:
        with pytest.raises(Unavailable) as refused:
            await client.get_event("evt_anything")
    assert refused.value.retry_after == 3600
    assert len(flaky_proxy.seen) == 1


async def test_typed_errors_from_real_answers(relay: AsyncRelay, relay_url: str) -> None:
    with pytest.raises(BadRequest) as bad:
        await relay.trigger("account", user_id="u1", channels=["carrier-pigeon"])
    assert set(bad.value.errors) == {"channels"}
    assert bad.value.status == 400

    with pytest.raises(NotFound):
        await relay.get_event("evt_never_sent")

    first = await relay.trigger("account", user_id="u1", channels=["email"], data={"n": 1})
    with pytest.raises(Conflict) as conflict:
        await relay.trigger(
            "account", user_id="u1", channels=["email"], data={"n": 2}, event_id=first["eventId"]
        )
    assert conflict.value.body["existingFingerprint"] != conflict.value.body["requestFingerprint"]

    with pytest.raises(PayloadTooLarge):
        await relay.trigger("account", user_id="u1", channels=["email"], data={"blob": "x" * 70_000})

    async with AsyncRelay("rk_wrong_key", base_url=relay_url) as stranger:
        with pytest.raises(Unauthorized):
            await stranger.get_event(first["eventId"])

    reader = (await sync_to_async(ApiKey.issue)("reader", scopes=["read"]))[1]
    async with AsyncRelay(reader, base_url=relay_url) as read_only:
        with pytest.raises(Forbidden):
            await read_only.trigger("account", user_id="u1", channels=["email"])


async def test_trigger_batch_names_every_event(relay: AsyncRelay) -> None:
    result = await relay.trigger_batch(
        [
            {"eventType": "account", "userId": "u1", "channels": ["email"]},
            {"eventId": "evt_batch_given", "eventType": "account", "userId": "u2", "channels": ["email"]},
            {"eventType": "account", "channels": ["email"]},
        ]
    )
    assert (result["accepted"], result["rejected"]) == (2, 1)
    made, given, refused = result["results"]
    assert made["code"] == 202 and str(made.get("eventId")).startswith("evt_")
    assert given.get("eventId") == "evt_batch_given"
    assert refused["code"] == 400
