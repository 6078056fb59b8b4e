"""The workflows API of API.md: list, read, publish (versions), delete, with API keys and scopes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from notifications.models import ApiKey

pytestmark = pytest.mark.django_db
CHANNELS = ["email", "sms", "push", "in_app", "webhook"]

COMMENT = {
    "name": "Comment",
    "steps": [
        {"id": "inbox", "type": "send", "config": {"channel": "in_app"}},
        {"id": "wait", "type": "delay", "config": {"duration": "1h"}},
        {
            "id": "mail",
            "type": "send",
            "config": {"channel": "email"},
            "if": {"==": [{"var": "steps.inbox.read"}, False]},
        },
    ],
}


def client_with(*scopes: str) -> APIClient:
    _, raw = ApiKey.issue("workflows-test", list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api() -> APIClient:
    return client_with("read", "workflows:write")


def test_put_creates_then_publishes_new_versions(api: APIClient) -> None:
    created = api.put("/api/workflows/comment.created", COMMENT, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body.keys() >= {"key", "name", "version", "steps", "createdAt", "updatedAt", "publishedAt"}
    assert (body["key"], body["name"], body["version"]) == ("comment.created", "Comment", 1)
    assert body["steps"][1] == {"id": "wait", "type": "delay", "config": {"duration": 3600}}
    assert body["steps"][2]["if"] == {"==": [{"var": "steps.inbox.read"}, False]}
    assert "if" not in body["steps"][0]

    updated = api.put("/api/workflows/comment.created", COMMENT | {"name": "Comment 2"}, format="json")
    assert updated.status_code == 200, updated.content
    assert (updated.json()["version"], updated.json()["name"]) == (2, "Comment 2")

    read = api.get("/api/workflows/comment.created")
    assert read.status_code == 200
    assert read.json() == updated.json()


def test_list_shows_published_workflows_by_key(api: APIClient) -> None:
    assert api.get("/api/workflows").json() == {"workflows": []}
    for key in ("signup", "comment"):
        assert api.put(f"/api/workflows/{key}", COMMENT, format="json").status_code == 201
    api.delete("/api/workflows/signup")
    listed = api.get("/api/workflows")
    assert listed.status_code == 200
    assert [(item["key"], item["version"]) for item in listed.json()["workflows"]] == [("comment", 1)]


def test_unknown_workflows_are_404(api: APIClient) -> None:
    assert api.get("/api/workflows/nothing").status_code == 404
    missing = api.delete("/api/workflows/nothing")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No workflow for this event type."}


def test_delete_answers_204_and_a_later_put_creates_again(api: APIClient) -> None:
    api.put("/api/workflows/comment", COMMENT, format="json")
    assert api.delete("/api/workflows/comment").status_code == 204
    assert api.get("/api/workflows/comment").status_code == 404
    again = api.put("/api/workflows/comment", COMMENT, format="json")
    assert (again.status_code, again.json()["version"]) == (201, 2)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"steps": [{"id": "wait", "type": "delay", "config": {"duration": "soon"}}]},
            {
                "steps": {
                    "0": {
                        "config": {
                            "duration": [
                                'Give seconds as a number or a string such as "90s", "10m", "1h", "2d".'
                            ]
                        }
                    }
                }
            },
        ),
        (
            {"steps": [COMMENT["steps"][0], {"id": "mail", "type": "send", "config": {"channel": "fax"}}]},
            {
                "steps": {
                    "1": {
                        "config": {
                            "channel": [
                                '"fax" is not a registered channel; use one of: ' + ", ".join(CHANNELS) + "."
                            ]
                        }
                    }
                }
            },
        ),
        (
            {"steps": [{"id": "w", "type": "waitFor", "config": {"step": "inbox", "timeout": 60}}]},
            {
                "steps": {
                    "0": {
                        "config": {
                            "step": [
                                'No earlier step has the id "inbox"; waitFor waits for a send step before it.'
                            ]
                        }
                    }
                }
            },
        ),
        ({"steps": []}, {"steps": ["Required: a list of at least one step."]}),
        (
            {"name": "x", "steps": COMMENT["steps"], "extra": 1},
            {"extra": ["Unknown field; use name, steps."]},
        ),
        (["not an object"], {"non_field_errors": ['A workflow is an object {"name", "steps"}.']}),
    ],
)
def test_invalid_bodies_are_400s_naming_the_step_and_field(
    api: APIClient, body: Any, errors: dict[str, Any]
) -> None:
    response = api.put("/api/workflows/comment", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert api.get("/api/workflows/comment").status_code == 404


def test_malformed_json_and_bad_keys_are_400s(api: APIClient) -> None:
    malformed = api.put("/api/workflows/comment", "{", content_type="application/json")
    assert malformed.status_code == 400
    assert list(malformed.json()["errors"]) == ["body"]
    bad_key = api.put("/api/workflows/" + "x" * 129, COMMENT, format="json")
    assert bad_key.status_code == 400
    assert list(bad_key.json()["errors"]) == ["key"]


def test_credentials_and_scopes() -> None:
    anonymous = APIClient()
    assert anonymous.get("/api/workflows").status_code == 401
    assert anonymous.put("/api/workflows/comment", COMMENT, format="json").status_code == 401
    reader = client_with("read")
    assert reader.get("/api/workflows").status_code == 200
    assert reader.put("/api/workflows/comment", COMMENT, format="json").status_code == 403
    assert reader.delete("/api/workflows/comment").status_code == 403
    writer = client_with("workflows:write")
    assert writer.put("/api/workflows/comment", COMMENT, format="json").status_code == 201
    assert writer.get("/api/workflows/comment").status_code == 403
    assert ApiKey.issue("default")[0].scopes == [
        "events:write",
        "subscribers:write",
        "workflows:write",
        "webhooks:write",
        "read",
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_puts_get_distinct_consecutive_versions() -> None:
    _, raw = ApiKey.issue("race", ["workflows:write", "read"])

    def put(index: int) -> tuple[int, int]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        try:
            response = client.put("/api/workflows/race", COMMENT | {"name": f"n{index}"}, format="json")
            return response.status_code, response.json()["version"]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(put, range(12)))
    assert sorted(version for _, version in answers) == list(range(1, 13))
    assert sorted(code for code, _ in answers) == [200] * 11 + [201]


def test_the_schema_documents_the_workflow_operations() -> None:
    schema = APIClient().get("/api/schema", HTTP_ACCEPT="application/json").json()
    assert set(schema["paths"]["/api/workflows/{key}"]) >= {"get", "put", "delete"}
    put = schema["paths"]["/api/workflows/{key}"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WorkflowBody"
    }
    assert {"200", "201", "400", "404"} <= set(put["responses"])
    step = schema["components"]["schemas"]["WorkflowStep"]
    assert set(step["properties"]) == {"id", "type", "config", "if"}
