"""A publish the cluster cannot confirm (no PubAck within RELAY_PUBLISH_TIMEOUT) answers 503 with
Retry-After, never 202 and never 500; once the cluster has a quorum again the same event is 202."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from core.nats_cluster import NatsCluster

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def client(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


def retried(client: APIClient, body: dict[str, Any]) -> Any:
    """Post until the answer is not a 503, as a client honouring Retry-After would (faster)."""
    for _ in range(60):
        response = client.post("/api/events", body, format="json")
        if response.status_code != 503:
            return response
        time.sleep(0.5)
    return response


def test_a_cluster_without_quorum_answers_503_with_retry_after_then_202(
    r3_streams: NatsCluster, client: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    cluster = r3_streams
    assert client.post("/api/events", event_body(), format="json").status_code == 202

    # Two of three nodes hang (SIGSTOP): connections stay open, nothing is stored or confirmed.
    cluster.pause(1)
    cluster.pause(2)
    body = event_body()
    try:
        for _ in range(3):
            response = client.post("/api/events", body, format="json")
            assert response.status_code == 503, response.content
            assert int(response["Retry-After"]) > 0
    finally:
        cluster.resume(1)
        cluster.resume(2)

    response = retried(client, body)
    assert response.status_code in (200, 202), response.content  # 200: an earlier try was stored


def test_every_node_killed_answers_503_and_the_restarted_cluster_202(
    r3_streams: NatsCluster, client: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    cluster = r3_streams
    assert client.post("/api/events", event_body(), format="json").status_code == 202
    for index in range(3):
        cluster.kill(index)
    body = event_body()
    response = client.post("/api/events", body, format="json")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0

    cluster.start()  # all three again, with their stores
    response = retried(client, body)
    assert response.status_code == 202, response.content


def test_health_reaches_the_cluster_through_any_listed_node_that_is_up(
    cluster: NatsCluster, settings: Any, client: APIClient
) -> None:
    cluster.kill(0)
    settings.NATS_URL = ",".join([cluster.nodes[0].url, cluster.nodes[0].url, cluster.nodes[1].url])
    for _ in range(5):  # nats-py picks servers in random order: every order must work
        body = client.get("/api/health").json()
        assert body["services"]["nats"]["status"] == "ok", body
