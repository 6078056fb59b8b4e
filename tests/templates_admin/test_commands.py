"""import_templates / export_templates: templates kept in version control as plain files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from templates_admin.models import NotificationTemplate
from tests.templates_admin.conftest import MakeTemplate

pytestmark = pytest.mark.django_db


def test_export_then_import_round_trips(make_template: MakeTemplate, tmp_path: Path) -> None:
    make_template(
        subject="Hi {{ userName }}", text_body="Text", html_body="<p>Hi</p>", sample_data={"userName": "A"}
    )
    make_template(event_type="order.shipped", channel="sms", locale="de-AT", text_body="Versandt")
    make_template(channel="sms", text_body="inactive", active=False)

    call_command("export_templates", str(tmp_path))
    email = tmp_path / "account" / "en" / "email"
    assert (email / "subject.txt").read_text() == "Hi {{ userName }}"
    assert (email / "html.html").read_text() == "<p>Hi</p>"
    assert json.loads((email / "sample.json").read_text()) == {"userName": "A"}
    assert (tmp_path / "order.shipped" / "de-AT" / "sms" / "text.txt").read_text() == "Versandt"
    assert not (tmp_path / "account" / "en" / "sms").exists()

    (email / "text.txt").write_text("Edited in git")
    out = _run("import_templates", tmp_path)
    assert out.strip() == "created 0, updated 1, unchanged 1"
    template = NotificationTemplate.objects.get(event_type="account", channel="email")
    assert (template.text_body, template.version, template.updated_by) == (
        "Edited in git",
        2,
        "import_templates",
    )
    assert template.versions.get().text_body == "Text"


def test_import_creates_templates_from_a_fresh_directory(tmp_path: Path) -> None:
    folder = tmp_path / "user.signup" / "de_at" / "push"
    folder.mkdir(parents=True)
    (folder / "subject.txt").write_text("Willkommen")
    (folder / "text.txt").write_text("Hallo {{ userName }}")
    assert _run("import_templates", tmp_path).strip() == "created 1, updated 0, unchanged 0"
    template = NotificationTemplate.objects.get()
    assert (template.event_type, template.channel, template.locale) == ("user.signup", "push", "de-AT")


def test_import_refuses_invalid_templates_and_imports_nothing(tmp_path: Path) -> None:
    good = tmp_path / "account" / "en" / "sms"
    bad = tmp_path / "account" / "en" / "email"
    good.mkdir(parents=True)
    bad.mkdir(parents=True)
    (good / "text.txt").write_text("fine")
    (bad / "subject.txt").write_text("Hi")
    (bad / "text.txt").write_text("line one\n{{ userName|shout }}")
    with pytest.raises(CommandError) as refused:
        call_command("import_templates", str(tmp_path))
    assert "account/en/email/text.txt: line 2: Invalid filter: 'shout'" in str(refused.value)
    assert not NotificationTemplate.objects.exists()


def _run(command: str, directory: Path) -> str:
    from io import StringIO

    out = StringIO()
    call_command(command, str(directory), stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("field", "value", "empty", "bad", "problem"),
    [
        (
            "actions",
            {"primary": {"label": "Accept", "key": "accept"}},
            {},
            {"primary": {"label": "Accept"}},
            "primary: give exactly one of url",
        ),
        ("tags", ["billing"], [], ["a|b"], "Each tag 1-64 characters"),
    ],
)
def test_in_app_json_fields_travel_as_files_and_are_checked_on_import(
    make_template: MakeTemplate, tmp_path: Path, field: str, value: Any, empty: Any, bad: Any, problem: str
) -> None:
    """Buttons (``actions.json``) and tags (``tags.json``): exported, checked on import, and a
    removed file empties the field (the old value kept as a version)."""
    make_template(channel="in_app", subject="Invoice", text_body="Due", html_body="", **{field: value})

    call_command("export_templates", str(tmp_path))
    path = tmp_path / "account" / "en" / "in_app" / f"{field}.json"
    assert json.loads(path.read_text()) == value

    path.write_text(json.dumps(bad))
    with pytest.raises(CommandError) as refused:
        call_command("import_templates", str(tmp_path))
    assert f"account/en/in_app/{field}.json: {problem}" in str(refused.value)

    path.unlink()
    assert _run("import_templates", tmp_path).strip() == "created 0, updated 1, unchanged 0"
    template = NotificationTemplate.objects.get()
    assert (getattr(template, field), getattr(template.versions.get(), field)) == (empty, value)


def test_tags_are_refused_on_other_channels_than_in_app(make_template: MakeTemplate, tmp_path: Path) -> None:
    make_template(channel="sms", subject="", text_body="Due", html_body="")
    call_command("export_templates", str(tmp_path))
    folder = tmp_path / "account" / "en" / "sms"
    assert not (folder / "tags.json").exists()
    (folder / "tags.json").write_text(json.dumps(["billing"]))
    with pytest.raises(CommandError) as refused:
        call_command("import_templates", str(tmp_path))
    assert "account/en/sms/tags.json: Only in_app messages have tags." in str(refused.value)
