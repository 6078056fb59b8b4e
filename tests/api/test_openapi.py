"""The OpenAPI schema a client generator gets from GET /api/schema: it generates without a
warning, every operation that needs credentials says which, demo endpoints only in demo mode,
the inbox WebSocket protocol in its description, and the docs pages load nothing from outside."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
from rest_framework.test import APIClient

from realtime.consumers import ACTIONS_ON_IDS
from tests.conftest import ROOT, subprocess_env

METHODS = {"get", "put", "post", "patch", "delete"}
API_KEY_ALTERNATIVES = [{"apiKey": []}, {"apiKeyHeader": []}]
LOCAL_REFERENCE = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def openapi() -> dict[str, Any]:
    response = APIClient().get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def concrete(path: str) -> str:
    """A path template with a value in every parameter (a number fits them all)."""
    return re.sub(r"\{[^}]+\}", "1", path.replace("{action}", "read"))


@pytest.mark.parametrize("demo", ["0", "1"])
def test_the_schema_generates_valid_and_without_a_warning(demo: str) -> None:
    """What `make schema` (and so .ci/run) runs, in both modes: the demo views are only
    looked at in demo mode."""
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null"],
        cwd=ROOT,
        env=subprocess_env(RELAY_DEMO=demo),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr


@pytest.mark.django_db
def test_every_operation_that_refuses_an_anonymous_call_declares_its_security(nats_url: str) -> None:
    """Behaviour decides, not a list: an operation that answers 401 without credentials must
    declare them (the API key in either header), and one that does not must declare none."""
    schema = openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["apiKey"]["description"],
    }
    assert {k: schemes["apiKeyHeader"][k] for k in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert schemes["subscriberToken"]["scheme"] == "bearer"
    client = APIClient()
    public, secured = [], []
    for method, path, operation in operations(schema):
        answer = getattr(client, method)(concrete(path), {}, format="json")
        security = operation.get("security", [])
        if answer.status_code == 401:
            secured.append(path)
            assert security, f"{method.upper()} {path} answers 401 but declares no security"
            for alternative in API_KEY_ALTERNATIVES:
                assert alternative in security, f"{method.upper()} {path}: {security}"
        else:
            public.append(path)
            assert security == [], f"{method.upper()} {path} answers {answer.status_code}: {security}"
    assert set(public) == {"/api/health", "/api/health/live"}
    assert len(secured) > 30


def test_subscriber_endpoints_take_a_subscriber_token_or_an_api_key() -> None:
    for method, path, operation in operations(openapi()):
        if path.startswith(("/api/inbox", "/api/preferences")):
            assert operation["security"] == [*API_KEY_ALTERNATIVES, {"subscriberToken": []}], (method, path)
        elif "security" in operation:
            assert {"subscriberToken": []} not in operation["security"], (method, path)


def test_no_two_choice_sets_share_a_name_and_topic_members_are_typed() -> None:
    schema = openapi()
    names = schema["components"]["schemas"]
    assert {"DeliveryStatusEnum", "InboxStatusEnum", "PriorityEnum"} <= set(names)
    assert not [name for name in names if re.search(r"[0-9a-f]{3}Enum$", name)]
    members = schema["paths"]["/api/topics/{key}/subscribers"]
    bodies = [
        members[method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        for method in ("get", "post", "delete")
    ]
    for ref in bodies:
        assert names[ref.rsplit("/", 1)[1]]["properties"], ref


def test_demo_endpoints_are_in_the_schema_only_in_demo_mode(settings: Any) -> None:
    settings.RELAY_DEMO = False
    assert not [path for path in openapi()["paths"] if path.startswith("/api/demo/")]
    settings.RELAY_DEMO = True
    assert {"/api/demo/session", "/api/demo/event", "/api/demo/events/{event_id}"} <= set(openapi()["paths"])


def test_the_description_documents_every_inbox_socket_message() -> None:
    description = openapi()["info"]["description"]
    assert "/ws/inbox/" in description and "4401" in description
    client_types = {*ACTIONS_ON_IDS, "snooze", "mark_all_read", "ping"}
    server_types = {"hello", "notification", "counts", "error", "pong"}
    for kind in client_types | server_types:
        assert f'"type": "{kind}"' in description or f"`{kind}`" in description, kind


@pytest.mark.parametrize("page", ["/api/docs", "/api/redoc"])
def test_docs_pages_load_only_local_assets(page: str) -> None:
    client = APIClient()
    answer = client.get(page)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/html")
    html = answer.content.decode()
    assert not re.search(r"https?://", html), "an external URL in the page"
    references = LOCAL_REFERENCE.findall(html)
    assert any(reference.endswith(".js") for reference in references), references
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        body = b"".join(asset.streaming_content) if asset.streaming else asset.content
        assert body, reference
    assert "/api/schema" in html
