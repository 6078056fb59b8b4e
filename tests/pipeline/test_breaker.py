"""The circuit breaker: shared through Redis by every worker, per process without it."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from core.embedded_nats import free_port
from core.metrics import CIRCUIT_BREAKER_STATE
from pipeline import breaker
from pipeline.breaker import Breakers
from pipeline.providers.base import OutboundMessage, Provider, ProviderResult


@pytest.fixture
def fast_breaker(settings: Any) -> Iterator[None]:
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "email": ["smtp"]}
    settings.RELAY_BREAKER_FAILURES = 3
    settings.RELAY_BREAKER_FAILURE_RATIO = 0.5
    settings.RELAY_BREAKER_MIN_CALLS = 10
    settings.RELAY_BREAKER_WINDOW = 60
    settings.RELAY_BREAKER_COOLDOWN = 0.2
    breaker.breakers.reset()
    yield
    breaker.breakers.reset()


def test_breaker_opens_after_consecutive_failures_for_every_worker(fast_breaker: None) -> None:
    worker_a, worker_b = Breakers(), Breakers()  # two processes' views of the same Redis state
    worker_a.observe("smtp", [False, False], trial=False)
    assert worker_b.admit("smtp").allowed
    worker_b.observe("smtp", [False], trial=False)

    refused = worker_a.admit("smtp")
    assert not refused.allowed
    assert 0 < refused.retry_in <= 0.2
    assert breaker.states()["smtp"]["state"] == "open"
    assert CIRCUIT_BREAKER_STATE.labels("smtp")._value.get() == 2


def test_success_between_failures_keeps_the_breaker_closed(fast_breaker: None) -> None:
    breaker.breakers.observe("smtp", [False, False, True, False, False], trial=False)
    assert breaker.breakers.admit("smtp").allowed
    assert breaker.states()["smtp"]["consecutiveFailures"] == 2


def test_a_run_of_failures_inside_one_batch_opens_the_breaker(fast_breaker: None) -> None:
    breaker.breakers.observe("smtp", [True, False, False, False, True, True], trial=False)
    assert not breaker.breakers.admit("smtp").allowed


def test_breaker_opens_on_failure_ratio_over_the_window(fast_breaker: None) -> None:
    breaker.breakers.observe("smtp", [True, False] * 4, trial=False)
    assert breaker.breakers.admit("smtp").allowed  # 8 calls: below the minimum
    breaker.breakers.observe("smtp", [True, False], trial=False)
    assert not breaker.breakers.admit("smtp").allowed


def test_half_open_admits_one_trial_and_closes_on_success(fast_breaker: None) -> None:
    worker_a, worker_b = Breakers(), Breakers()
    worker_a.observe("smtp", [False] * 3, trial=False)
    time.sleep(0.25)
    trial = worker_a.admit("smtp")
    assert trial.allowed and trial.trial
    assert not worker_b.admit("smtp").allowed, "only one caller makes the trial"
    assert breaker.states()["smtp"]["state"] == "half_open"

    worker_a.observe("smtp", [True], trial=True)
    assert worker_b.admit("smtp") == breaker.Permit(allowed=True)
    assert breaker.states()["smtp"] == {
        "state": "closed",
        "consecutiveFailures": 0,
        "retryIn": 0.0,
        "timesOpened": 1,
    }


def test_failed_trial_opens_the_breaker_again(fast_breaker: None) -> None:
    breaker.breakers.observe("smtp", [False] * 3, trial=False)
    time.sleep(0.25)
    assert breaker.breakers.admit("smtp").trial
    breaker.breakers.observe("smtp", [False], trial=True)
    assert not breaker.breakers.admit("smtp").allowed
    assert breaker.states()["smtp"]["timesOpened"] == 2


def test_redis_down_degrades_to_process_state_without_raising(fast_breaker: None) -> None:
    unreachable = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    worker = Breakers()
    with override_settings(CACHES=unreachable):
        worker.observe("smtp", [False] * 3, trial=False)
        assert not worker.admit("smtp").allowed
        assert worker.read("smtp").state == "open"


@pytest.mark.django_db
def test_health_and_metrics_show_each_breaker(fast_breaker: None, nats_url: str, settings: Any) -> None:
    settings.RELAY_BREAKER_COOLDOWN = 30
    breaker.breakers.observe("smtp", [False] * 3, trial=False)
    body = APIClient().get("/api/health").json()
    assert body["breakers"]["smtp"]["state"] == "open"
    assert body["breakers"]["smtp"]["timesOpened"] == 1
    assert body["status"] == "ok", "an open breaker is not an outage of Relay itself"
    metrics = APIClient().get("/api/metrics").content.decode()
    assert 'circuit_breaker_state{provider="smtp"} 2.0' in metrics


def test_reset_breakers_command_closes_every_breaker(fast_breaker: None, settings: Any) -> None:
    settings.RELAY_BREAKER_COOLDOWN = 30
    breaker.breakers.observe("smtp", [False] * 3, trial=False)
    out = io.StringIO()
    call_command("reset_breakers", stdout=out)
    assert "smtp: closed" in out.getvalue()
    assert breaker.breakers.admit("smtp").allowed


class _Scripted(Provider):
    """A provider whose answers are given in advance: True = ok, False = transient failure."""

    name = "smtp"
    channel = "email"

    def __init__(self, answers: list[bool]) -> None:
        self.answers = answers

    async def send(self, message: OutboundMessage) -> ProviderResult:
        return self.result("ok" if self.answers.pop(0) else "transient", time.perf_counter())


def _messages(n: int) -> list[OutboundMessage]:
    return [OutboundMessage(i, "email", f"e{i}", "t", 1, "u", "u@example.com", {}) for i in range(n)]


async def test_batches_sent_on_the_loop_count_in_the_shared_window_and_failures_open_it(
    fast_breaker: None,
) -> None:
    other_worker = Breakers()
    guarded = await breaker.send_guarded(_Scripted([True] * 4), _messages(4))
    assert [r.kind for r in guarded.results if r] == ["ok"] * 4
    guarded = await breaker.send_guarded(_Scripted([True, True]), _messages(2))
    assert other_worker.read("smtp").calls == 6  # the healthy path's HINCRBY, seen through Redis

    await breaker.send_guarded(_Scripted([True, False, False, False]), _messages(4))
    assert other_worker.read("smtp").state == "open"
    refused = await breaker.send_guarded(_Scripted([]), _messages(2))
    assert refused.results == [None, None]
    assert 0 < refused.retry_in <= 0.2


async def test_sending_on_the_loop_with_redis_down_uses_process_state(
    fast_breaker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = Breakers()  # its Redis back-off must not outlive the test
    monkeypatch.setattr(breaker, "breakers", worker)
    unreachable = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    with override_settings(CACHES=unreachable):
        guarded = await breaker.send_guarded(_Scripted([True, True]), _messages(2))
        assert [r.kind for r in guarded.results if r] == ["ok", "ok"]
        assert worker.memory.read("smtp").calls == 2
