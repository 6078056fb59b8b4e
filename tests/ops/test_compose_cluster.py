"""docker-compose.cluster.yml, laid over docker-compose.yml, runs a 3-node NATS cluster and two
replicas of every stage, all clients listing the three servers.

`docker compose config` would merge the two files, but this machine's docker has no compose
plugin (and no engine). The merge below follows the Compose rules for the keys the override
uses: mappings (environment, depends_on, deploy) merge key by key, volumes by mount point,
anything else is replaced; ``extends`` starts from the named service of the named file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
STAGE_COMMANDS = {"consume", "scheduler"}


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return loaded


def mount_point(volume: str) -> str:
    return volume.split(":")[1]


def merge_service(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if key == "extends":
            continue
        if key == "volumes":
            kept = [v for v in base.get(key, []) if mount_point(v) not in {mount_point(o) for o in value}]
            merged[key] = kept + value
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return merged


def cluster_services() -> dict[str, dict[str, Any]]:
    base, override = load("docker-compose.yml"), load("docker-compose.cluster.yml")
    services = dict(base["services"])
    for name, service in override["services"].items():
        if "extends" in service:
            origin = load(service["extends"]["file"])["services"][service["extends"]["service"]]
            services[name] = merge_service(origin, service)
        else:
            assert name in services, f"{name} overrides no service of docker-compose.yml"
            services[name] = merge_service(services[name], service)
    return services


def option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def nats_nodes(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    image = load("docker-compose.yml")["services"]["nats"]["image"]
    return {name: svc for name, svc in services.items() if svc.get("image") == image}


def test_three_nats_nodes_form_one_jetstream_cluster_on_their_own_volumes() -> None:
    services = cluster_services()
    nodes = nats_nodes(services)
    assert len(nodes) == 3
    routes = {f"nats://{name}:6222" for name in nodes}
    names, volumes = set(), set()
    for name, node in nodes.items():
        command = node["command"]
        assert "-js" in command and option(command, "-sd") == "/data", name
        assert option(command, "--cluster") == "nats://0.0.0.0:6222", name
        assert set(option(command, "--routes").split(",")) == routes, name
        assert option(command, "--cluster_name") == "relay", name
        assert node["healthcheck"]["test"], name
        names.add(option(command, "--name"))
        (volume,) = node["volumes"]
        assert mount_point(volume) == "/data", name
        volumes.add(volume.split(":")[0])
    assert len(names) == 3, "JetStream needs a distinct server name per node"
    assert len(volumes) == 3, "each node keeps its own store"
    assert volumes <= set(load("docker-compose.yml")["volumes"]) | set(
        load("docker-compose.cluster.yml")["volumes"]
    )


def test_every_client_lists_the_three_servers_and_makes_r3_streams() -> None:
    services = cluster_services()
    nodes = nats_nodes(services)
    clients = {name: svc for name, svc in services.items() if "NATS_URL" in svc.get("environment", {})}
    assert {"web", "migrate", "ingest", "scheduler"} <= set(clients)
    for name, service in clients.items():
        servers = service["environment"]["NATS_URL"].split(",")
        assert servers == [f"nats://{node}:4222" for node in nodes], name
        assert int(service["environment"]["RELAY_STREAM_REPLICAS"]) == len(nodes), name
    waits_for = services["migrate"]["depends_on"]
    assert all(waits_for[node]["condition"] == "service_healthy" for node in nodes)


def test_two_replicas_of_every_stage() -> None:
    services = cluster_services()
    stages = {
        name: svc
        for name, svc in services.items()
        if isinstance(svc.get("command"), list) and STAGE_COMMANDS & set(svc["command"])
    }
    assert {"ingest", "route", "workflow", "deliver-email", "scheduler"} <= set(stages)
    for name, service in stages.items():
        assert service["deploy"]["replicas"] == 2, name
        assert service["healthcheck"]["test"], name
    # The web service publishes port 8000, which only one replica can hold.
    assert services["web"].get("deploy", {}).get("replicas", 1) == 1
