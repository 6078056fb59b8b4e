"""deploy/ stays in step with docker-compose.yml and with the metrics Relay really exports."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from core.names import names
from ops.exposition import consumer_lag_metrics
from pipeline.runner import all_stage_specs

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}


def exported_names() -> set[str]:
    families = list(REGISTRY.collect())
    families += list(text_string_to_metric_families(asyncio.run(consumer_lag_metrics()).decode()))
    return {family.name + suffix for family in families for suffix in SUFFIXES.get(family.type, [""])}


def load_yaml(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text())


def test_prometheus_scrapes_every_compose_consumer_and_the_web_service() -> None:
    compose = load_yaml("docker-compose.yml")["services"]
    consumers = {name for name, svc in compose.items() if "consume" in svc.get("command", [])}
    jobs = {job["job_name"]: job for job in load_yaml("deploy/prometheus.yml")["scrape_configs"]}
    discovery = jobs["relay-consumers"]["dns_sd_configs"][0]
    assert set(discovery["names"]) == consumers
    assert str(discovery["port"]) == compose["ingest"]["environment"]["METRICS_PORT"]
    assert jobs["relay-web"]["metrics_path"] == "/api/metrics"
    assert jobs["relay-web"]["static_configs"][0]["targets"] == ["web:8000"]


def metric_names(exprs: list[str]) -> set[str]:
    """Names in PromQL expressions: words followed by a selector, range or closing bracket."""
    return {
        name
        for expr in exprs
        for name in re.findall(r"\b([a-z_]+)(?=\s*[\[{)])", re.sub(r"by \([^)]*\)", "", expr))
    }


@pytest.mark.django_db
def test_grafana_dashboard_and_alerts_query_only_exported_metrics(client: Client) -> None:
    client.get("/api/health/live")  # so django-prometheus has seen a request
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/relay.json").read_text())
    panels = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    rules = [rule["expr"] for group in load_yaml("deploy/alerts.yml")["groups"] for rule in group["rules"]]
    exported = exported_names() | {"up"}
    for exprs in (panels, rules):
        used = metric_names(exprs)
        assert used, exprs
        assert used <= exported, used - exported


def test_every_compose_service_that_keeps_running_is_health_checked_and_waits_for_healthy_dependencies() -> (
    None
):
    compose = load_yaml("docker-compose.yml")["services"]
    long_running = {
        name: svc for name, svc in compose.items() if name != "migrate" and not svc.get("profiles")
    }
    unchecked = {name for name, svc in long_running.items() if not svc.get("healthcheck", {}).get("test")}
    assert unchecked == set()
    workers = {name for name, svc in compose.items() if svc.get("command", [None])[0] == "relay"}
    assert workers >= {"ingest", "route", "workflow", "deliver-email", "scheduler"}
    for name in workers:
        assert compose[name]["healthcheck"]["test"] == ["CMD", "python", "-m", "pipeline.liveness"], name
    for name, svc in {**long_running, "migrate": compose["migrate"]}.items():
        for dependency, condition in svc.get("depends_on", {}).items():
            wanted = "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            assert condition["condition"] == wanted, (name, dependency)


def test_compose_runs_every_stage_the_code_defines() -> None:
    """A stage without a service is a channel whose deliveries nobody sends."""
    compose = load_yaml("docker-compose.yml")["services"]
    commands = [svc["command"][1:] for svc in compose.values() if svc.get("command", [None])[0] == "relay"]
    running = {
        f"deliver:{args[3]}" if args[1] == "deliver" else args[1] for args in commands if args[0] == "consume"
    }
    assert running == {spec.label for spec in all_stage_specs(names())}
    assert ["scheduler"] in commands


def test_compose_has_no_default_secret_key() -> None:
    env = load_yaml("docker-compose.yml")["x-relay"]["environment"]
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
