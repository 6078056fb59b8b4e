"""import_workflows / export_workflows: workflows kept in version control as YAML or JSON files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from workflows import selectors, services
from workflows.models import WorkflowVersion

pytestmark = pytest.mark.django_db

COMMENT_YAML = """\
key: comment.created
name: Comment
steps:
  - id: inbox
    type: send
    config: {channel: in_app}
  - id: wait
    type: delay
    config: {duration: 1h}
  - id: mail
    type: send
    config: {channel: email, template: comment}
    if: {"==": [{var: steps.inbox.read}, false]}
"""
DAILY_JSON = [
    {
        "key": "daily",
        "name": "Daily digest",
        "steps": [
            {"id": "collect", "type": "digest", "config": {"at": "0 9 * * *", "maxItems": 50}},
            {"id": "mail", "type": "send", "config": {"channel": "email"}},
        ],
    },
    {"key": "later", "steps": [{"id": "nine", "type": "delay", "config": {"at": "9:30"}}]},
]


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_import_publishes_and_reimport_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "comment.yaml").write_text(COMMENT_YAML)
    (tmp_path / "more.json").write_text(json.dumps(DAILY_JSON))
    out = run("import_workflows", str(tmp_path))
    assert out.splitlines() == [
        "comment.created: created v1",
        "daily: created v1",
        "later: created v1",
        "created 3, updated 0, unchanged 0",
    ]
    current = selectors.current_versions(["comment.created", "daily", "later"])
    assert current["comment.created"].steps[1]["config"] == {"duration": 3600}
    assert current["later"].steps[0]["config"] == {"at": "30 9 * * *"}  # not YAML's base-60 570

    again = run("import_workflows", str(tmp_path / "comment.yaml"), str(tmp_path / "more.json"))
    assert again.splitlines()[-1] == "created 0, updated 0, unchanged 3"
    assert "comment.created: unchanged v1" in again
    assert WorkflowVersion.objects.count() == 3

    (tmp_path / "comment.yaml").write_text(COMMENT_YAML.replace("duration: 1h", "duration: 2h"))
    changed = run("import_workflows", str(tmp_path))
    assert "comment.created: updated v2" in changed.splitlines()


def test_export_then_import_round_trips(tmp_path: Path) -> None:
    services.publish("comment.created", _body(COMMENT_YAML))
    for item in DAILY_JSON:
        services.publish(item["key"], {k: v for k, v in item.items() if k != "key"})
    before = {
        key: (v.name, v.steps)
        for key, v in selectors.current_versions(["comment.created", "daily", "later"]).items()
    }

    stdout = run("export_workflows")
    exported = yaml.safe_load(stdout)
    assert [item["key"] for item in exported] == ["comment.created", "daily", "later"]
    assert exported[0]["steps"][1]["config"] == {"duration": "1h"}
    as_json = json.loads(run("export_workflows", "--format", "json"))
    assert [item["key"] for item in as_json] == ["comment.created", "daily", "later"]

    listing = run("export_workflows", "--output", str(tmp_path / "out"))
    assert sorted(Path(line).name for line in listing.splitlines()) == [
        "comment.created.yaml",
        "daily.yaml",
        "later.yaml",
    ]
    out = run("import_workflows", str(tmp_path / "out"))
    assert out.splitlines()[-1] == "created 0, updated 0, unchanged 3"
    (tmp_path / "list.yaml").write_text(stdout)
    assert (
        run("import_workflows", str(tmp_path / "list.yaml")).splitlines()[-1]
        == "created 0, updated 0, unchanged 3"
    )

    for key in before:
        services.delete(key)
    assert (
        run("import_workflows", str(tmp_path / "list.yaml")).splitlines()[-1]
        == "created 3, updated 0, unchanged 0"
    )
    after = {key: (v.name, v.steps) for key, v in selectors.current_versions(before).items()}
    assert after == before


def _body(text: str) -> dict[str, object]:
    body = yaml.safe_load(text)
    body.pop("key")
    return body


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            COMMENT_YAML.replace("duration: 1h", "duration: soon"),
            'bad.yaml comment.created: step 2 "wait": config.duration: Give seconds',
        ),
        (
            COMMENT_YAML.replace("channel: email", "channel: fax"),
            'step 3 "mail": config.channel: "fax" is not a registered channel',
        ),
        (COMMENT_YAML.replace("key: comment.created", "key: not a key"), "bad.yaml: key: Give an event type"),
        ("key: [unclosed", "bad.yaml: Not valid YAML or JSON"),
        ("- just\n- strings\n", "bad.yaml (workflow 1): a workflow is an object"),
    ],
)
def test_a_bad_file_is_a_clear_command_error_and_nothing_is_imported(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "good.json").write_text(json.dumps(DAILY_JSON))
    (tmp_path / "bad.yaml").write_text(content)
    with pytest.raises(CommandError) as raised:
        run("import_workflows", str(tmp_path))
    assert str(raised.value).startswith("nothing imported:\n")
    assert message in str(raised.value)
    assert not WorkflowVersion.objects.exists()


def test_missing_files_and_duplicate_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No such file"):
        run("import_workflows", str(tmp_path / "absent.yaml"))
    with pytest.raises(CommandError, match=r"No \.yaml, \.yml, \.json files"):
        run("import_workflows", str(tmp_path))
    (tmp_path / "a.yaml").write_text(COMMENT_YAML)
    (tmp_path / "b.yaml").write_text(COMMENT_YAML)
    with pytest.raises(CommandError, match=r"comment\.created is defined twice"):
        run("import_workflows", str(tmp_path))
