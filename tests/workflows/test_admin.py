"""The workflows admin through Django's test client, logged in as staff: the list, validation
messages that name the step and field, publish on save, the steps table, delete = unpublish."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from workflows import selectors, services
from workflows.models import Workflow, WorkflowVersion

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:workflows_workflow_add")
LIST_URL = reverse("admin:workflows_workflow_changelist")
STEPS_YAML = """\
- id: inbox
  type: send
  config: {channel: in_app}
- id: wait
  type: delay
  config: {duration: 1h}
- id: collect
  type: digest
  config: {window: 10m, key: payload.postId, maxItems: 50}
- id: mail
  type: send
  config: {channel: email, template: comment}
  if: {"==": [{var: steps.inbox.read}, false]}
"""


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("editor", "editor@example.com", "pw"))
    return client


def form(**fields: Any) -> dict[str, Any]:
    return {
        "key": "comment.created",
        "name": "Comment",
        "steps": STEPS_YAML,
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    } | fields


def change_url(key: str) -> str:
    return reverse("admin:workflows_workflow_change", args=[Workflow.objects.get(key=key).pk])


def test_adding_publishes_version_one(staff: Client) -> None:
    response = staff.post(ADD_URL, form())
    assert response.status_code == 302, response.content.decode()[:2000]
    version = selectors.current_versions(["comment.created"])["comment.created"]
    assert (version.version, version.name) == (1, "Comment")
    assert version.steps[1] == {"id": "wait", "type": "delay", "config": {"duration": 3600}}
    assert b"Published comment.created v1." in staff.get(response["Location"]).content


def test_each_changed_save_publishes_and_an_unchanged_one_does_not(staff: Client) -> None:
    staff.post(ADD_URL, form())
    url = change_url("comment.created")
    page = staff.get(url)
    assert b"duration: 1h" in page.content  # the steps text shows durations as written
    again = staff.post(url, form(), follow=True)
    assert b"No change: comment.created stays at v1." in again.content
    staff.post(url, form(steps=STEPS_YAML.replace("duration: 1h", "duration: 2h")))
    assert selectors.current_versions(["comment.created"])["comment.created"].version == 2
    assert WorkflowVersion.objects.count() == 2


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            STEPS_YAML.replace("duration: 1h", "duration: soon"),
            "step 2 &quot;wait&quot;: config.duration: Give seconds as a number or a string",
        ),
        (
            STEPS_YAML.replace("channel: email", "channel: fax"),
            "step 4 &quot;mail&quot;: config.channel: &quot;fax&quot; is not a registered channel",
        ),
        (
            STEPS_YAML.replace('"=="', '"=!"'),
            "step 4 &quot;mail&quot;: if: Invalid JSON-Logic: unknown operator `=!`",
        ),
        ("- id: [unclosed", "Not valid YAML or JSON"),
        ("{}", "steps: Required: a list of at least one step."),
    ],
)
def test_invalid_steps_are_refused_with_the_step_and_field(staff: Client, steps: str, message: str) -> None:
    response = staff.post(ADD_URL, form(steps=steps))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not WorkflowVersion.objects.exists()


def test_versions_are_shown_as_steps_tables(staff: Client) -> None:
    services.publish(
        "comment.created",
        {"name": "One", "steps": [{"id": "a", "type": "send", "config": {"channel": "sms"}}]},
    )
    staff.post(change_url("comment.created"), form())
    page = staff.get(change_url("comment.created")).content.decode()
    assert page.count('<table class="workflow-steps">') == 2
    for cell in (
        "<td>1</td><td><code>inbox</code></td><td>send</td><td>in_app</td>",
        "<td>2</td><td><code>wait</code></td><td>delay</td><td>wait 1h</td>",
        "<td>digest 10m by payload.postId, max 50</td>",
        "<td>email, template comment</td><td><code>{&quot;==&quot;: [{&quot;var&quot;: "
        "&quot;steps.inbox.read&quot;}, false]}</code></td>",
    ):
        assert cell in page
    listing = staff.get(LIST_URL).content.decode()
    assert "comment.created" in listing and "v2" in listing


def test_delete_unpublishes_and_keeps_the_versions(staff: Client) -> None:
    staff.post(ADD_URL, form())
    workflow = Workflow.objects.get(key="comment.created")
    delete_url = reverse("admin:workflows_workflow_delete", args=[workflow.pk])
    confirm = staff.get(delete_url).content.decode()
    assert "comment.created: unpublished, its versions kept for runs in flight" in confirm
    assert staff.post(delete_url, {"post": "yes"}).status_code == 302
    assert selectors.current_versions(["comment.created"]) == {}
    assert WorkflowVersion.objects.count() == 1
    assert "deleted" in staff.get(LIST_URL).content.decode()
    page = staff.get(change_url("comment.created")).content.decode()
    assert "duration: 1h" in page  # the last version, ready to publish again
    staff.post(change_url("comment.created"), form())
    assert selectors.current_versions(["comment.created"])["comment.created"].version == 2
