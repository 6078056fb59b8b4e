"""Publishing and deleting workflows, and the engine's selector of current versions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from workflows import selectors, services
from workflows.definitions import DefinitionError
from workflows.models import Workflow, WorkflowVersion

BODY = {"name": "Comment", "steps": [{"id": "inbox", "type": "send", "config": {"channel": "in_app"}}]}


@pytest.mark.django_db
def test_each_publish_is_a_new_version_and_current_versions_finds_the_latest() -> None:
    first, created = services.publish("comment", BODY)
    assert (first.version, created) == (1, True)
    second, created = services.publish("comment", BODY | {"name": "Comment v2"})
    assert (second.version, created) == (2, False)
    services.publish("signup", BODY)
    found = selectors.current_versions(["comment", "signup", "unknown"])
    assert {key: version.version for key, version in found.items()} == {"comment": 2, "signup": 1}
    assert found["comment"].steps == BODY["steps"]
    assert found["comment"].name == "Comment v2"


@pytest.mark.django_db
def test_current_versions_is_one_query_then_none_until_a_publish(django_assert_num_queries: Any) -> None:
    for key in ("a", "b", "c"):
        services.publish(key, BODY)
    with django_assert_num_queries(1):
        found = selectors.current_versions(["a", "b", "c", "no-workflow"])
        assert [version.workflow.key for version in found.values()] == ["a", "b", "c"]
    with django_assert_num_queries(0):  # kept in memory, "no workflow" included
        assert selectors.current_versions(["a", "no-workflow"]).keys() == {"a"}
    services.publish("a", {**BODY, "name": "Renamed"})
    assert selectors.current_versions(["a"])["a"].version == 2  # the publishing process, at once


@pytest.mark.django_db
def test_delete_unpublishes_but_keeps_versions() -> None:
    services.publish("comment", BODY)
    assert services.delete("comment") is True
    assert services.delete("comment") is False
    assert services.delete("unknown") is False
    assert selectors.current_versions(["comment"]) == {}
    assert WorkflowVersion.objects.filter(workflow__key="comment").count() == 1
    version, created = services.publish("comment", BODY)
    assert (version.version, created) == (2, True)


@pytest.mark.django_db
def test_an_invalid_body_or_key_writes_nothing() -> None:
    with pytest.raises(DefinitionError):
        services.publish("comment", {"steps": []})
    with pytest.raises(DefinitionError) as raised:
        services.publish("no spaces", BODY)
    assert list(raised.value.errors) == ["key"]
    assert not Workflow.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_get_distinct_versions() -> None:
    def publish(index: int) -> int:
        try:
            return services.publish("race", BODY | {"name": f"n{index}"})[0].version
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(publish, range(16)))
    assert sorted(versions) == list(range(1, 17))
    workflow = Workflow.objects.get(key="race")
    assert workflow.current is not None and workflow.current.version == 16
