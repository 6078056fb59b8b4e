"""Structured logs: JSON lines in production, Django's own records included, ids bound."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import start_manage

PROBE = (
    "import logging, structlog; "
    "structlog.contextvars.bind_contextvars(stage='probe'); "
    "structlog.get_logger('relay.test').info('probe_logged', answer=42); "
    "logging.getLogger('django.request').warning('stdlib %s', 'record')"
)


def run_probe(**env: str) -> list[str]:
    process = start_manage("shell", "--no-imports", "-c", PROBE, **env)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return [line for line in output.decode().splitlines() if line.strip()]


def test_production_logs_are_json_lines_with_bound_context() -> None:
    lines = [json.loads(line) for line in run_probe(LOG_FORMAT="json")]
    ours = next(line for line in lines if line["event"] == "probe_logged")
    assert ours["answer"] == 42
    assert ours["stage"] == "probe"
    assert ours["level"] == "info"
    assert ours["logger"] == "relay.test"
    assert "timestamp" in ours
    django_line = next(line for line in lines if line["logger"] == "django.request")
    assert django_line["event"] == "stdlib record"
    assert django_line["stage"] == "probe"


def test_development_logs_are_console_lines() -> None:
    lines = run_probe(LOG_FORMAT="console", DEBUG="1")
    ours = next(line for line in lines if "probe_logged" in line)
    assert "answer=42" in ours
    with pytest.raises(json.JSONDecodeError):
        json.loads(ours)


@pytest.mark.django_db
def test_request_log_line_carries_the_request_id(caplog: Any) -> None:
    caplog.set_level("INFO")
    APIClient().get("/api/health/live", HTTP_X_REQUEST_ID="trace-77")
    finished = [
        r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "request_finished"
    ]
    assert finished
    assert finished[-1]["request_id"] == "trace-77"
    assert finished[-1]["path"] == "/api/health/live"
    assert finished[-1]["status"] == 200
